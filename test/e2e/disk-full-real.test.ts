/**
 * Issue 8, a full disk with the SQLite outbox, on a real file system: a tmpfs of 40 MB, half of it
 * taken by another file, so the disk is nearly full from the start — the case the issue saw wedge
 * for ever (the WAL took the rest of the disk, and even after the backlog drained every write
 * failed, because folding the WAL back needs space the WAL itself holds). Unlike
 * disk-full.test.ts (storage.max_database_size_mb, SQLite's page cap), this exercises the WAL,
 * the file system's free space and the default storage.min_free_disk_space_mb.
 *
 * Needs to mount a tmpfs (root, or CAP_SYS_ADMIN); where it cannot, it is skipped and says so.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TestBroker } from '../helpers/broker.js';
import { freePort, GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import type { RawChargePoint } from '../helpers/ocpp.js';
import { bootedStation, writeOutboxGatewayConfig } from '../helpers/outbox-gateway.js';
import { FakeThingsBoard } from '../helpers/thingsboard.js';

const MB = 1024 * 1024;
const dir = new TempDir();
const disk = join(dir.path, 'disk');
mkdirSync(disk);

/** Mounted here, or why not (then the test is skipped, and the reason printed). */
const mountProblem = ((): string | undefined => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', disk], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err).trim() || String(err);
  }
})();
if (mountProblem !== undefined) {
  console.warn(
    `SKIPPED disk-full on a real file system: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${mountProblem}`,
  );
}

const gateways: GatewayProcess[] = [];
const stations: RawChargePoint[] = [];
let broker: TestBroker | undefined;
let tb: FakeThingsBoard | undefined;

afterAll(async () => {
  for (const cp of stations) await cp.shut();
  for (const gateway of gateways) await gateway.stop();
  await tb?.close();
  await broker?.stop();
  if (mountProblem === undefined) execFileSync('umount', [disk]);
  dir.remove();
});

const freeOnDisk = (): number => {
  const s = statfsSync(disk);
  return s.bavail * s.bsize;
};
const sizeOf = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** Writes `bytes` (or until the disk is full) into `file`: another program taking the disk. */
function fill(file: string, bytes = Infinity): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(MB, 1);
  try {
    for (let written = 0; written < bytes; written += chunk.length) writeSync(fd, chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

interface Running {
  gateway: GatewayProcess;
  cp: RawChargePoint;
  brokerPort: number;
  db: string;
  readiness(): Promise<{ status: number; storageError?: string }>;
}

/** A gateway with its database on the tmpfs (default storage.min_free_disk_space_mb), ThingsBoard away, a booted station. */
async function startGateway(dbName: string): Promise<Running> {
  const brokerPort = await freePort();
  const db = join(disk, dbName);
  const config = writeOutboxGatewayConfig(dir, {
    brokerPort,
    token: 'GW_DISK_REAL',
    chargePointId: 'CP_FULL',
    timeseries: [{ messageTypeFilter: 'DataTransfer', key: 'blob', value: '${data}' }],
    storage: { data_file_path: db },
  });
  const gateway = GatewayProcess.run(config);
  gateways.push(gateway);
  await gateway.started();
  const cp = await bootedStation(gateway, 'CP_FULL');
  stations.push(cp);
  const statusUrl = String(
    (await gateway.waitForLog((l) => l.msg.startsWith('status server listening'))).url,
  );
  const readiness = async (): Promise<{ status: number; storageError?: string }> => {
    const res = await fetch(new URL('readyz', statusUrl));
    return { status: res.status, ...((await res.json()) as { storageError?: string }) };
  };
  return { gateway, cp, brokerPort, db, readiness };
}

/** Sends DataTransfers `from`…`from + count - 1` (8 KB each) at once; which were accepted, which refused. */
async function send(
  cp: RawChargePoint,
  from: number,
  count: number,
): Promise<{ accepted: number[]; refused: unknown[][] }> {
  const seqs = Array.from({ length: count }, (_v, i) => from + i);
  for (const seq of seqs) {
    const data = `${seq}:` + 'x'.repeat(8000);
    cp.send(JSON.stringify([2, `dt${seq}`, 'DataTransfer', { vendorId: 'v', data }]));
  }
  const accepted: number[] = [];
  const refused: unknown[][] = [];
  for (const seq of seqs) {
    const answer = await cp.answerTo(`dt${seq}`, 20_000);
    if (answer[0] === 3) accepted.push(seq);
    else refused.push(answer);
  }
  return { accepted, refused };
}

/**
 * Readings until every one is refused (each time a refusal gives the WAL's stale pages back, a few
 * more fit first); returns the accepted ones, the first refusal, how many were refused, the next seq.
 */
async function fillUntilRefused(
  cp: RawChargePoint,
  first: number,
): Promise<{ accepted: number[]; refusal: unknown[] | undefined; refused: number; next: number }> {
  const accepted: number[] = [];
  let refusal: unknown[] | undefined;
  let refused = 0;
  let seq = first;
  for (let full = false; !full && seq < first + 10_000; seq += 25) {
    const round = await send(cp, seq, 25);
    accepted.push(...round.accepted);
    refusal ??= round.refused[0];
    refused += round.refused.length;
    full = round.accepted.length === 0;
  }
  return { accepted, refusal, refused, next: seq };
}

/** Waits until `file` is empty (or missing); its size then. */
async function emptied(file: string): Promise<number> {
  const deadline = Date.now() + 15_000;
  while (sizeOf(file) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return sizeOf(file);
}

it.skipIf(mountProblem !== undefined)(
  'a nearly full disk: data refused before the disk fills, Heartbeat answered, WAL truncated, back by itself once the backlog drained',
  async () => {
    fill(join(disk, 'other-program.bin'), 20 * MB);
    const { gateway, cp, brokerPort, db, readiness } = await startGateway('gateway.db');

    // ThingsBoard is away: readings pile up until the disk is nearly full.
    const { accepted, refusal, refused, next } = await fillUntilRefused(cp, 0);
    let seq = next;
    expect(refusal?.slice(0, 3)).toEqual([4, expect.any(String), 'InternalError']);
    expect(accepted.length).toBeGreaterThan(50);
    // Refused before the disk filled: the room removals and checkpoints need is still there.
    expect(freeOnDisk()).toBeGreaterThan(8 * MB);
    const warning = await gateway.waitForLog((l) => String(l.msg).startsWith('storage: writes fail'));
    expect(warning.reason).toContain('storage.min_free_disk_space_mb');
    // Each refused reading is not a log line of its own: one, then a count a minute.
    const perCall = gateway.logs.filter((l) => l.msg === 'handling a charge point call failed');
    expect({ refused: refused >= 25, lines: perCall.length }).toEqual({ refused: true, lines: 1 });
    // Not ready (a load balancer sends its charge points elsewhere), and /readyz says why.
    expect(await readiness()).toMatchObject({
      status: 503,
      storageError: expect.stringContaining('storage.min_free_disk_space_mb') as string,
    });
    // The WAL was folded into the database and cut to nothing.
    expect(await emptied(`${db}-wal`)).toBe(0);

    // Another program takes the rest of the disk: still alive, Heartbeat and Authorize answered.
    fill(join(disk, 'greedy.bin'));
    expect(freeOnDisk()).toBeLessThan(MB);
    expect((await send(cp, seq, 3)).accepted).toEqual([]);
    seq += 3;
    cp.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
    expect((await cp.answerTo('hb'))[0]).toBe(3);
    cp.send(JSON.stringify([2, 'auth', 'Authorize', { idTag: 'TAG1' }]));
    expect((await cp.answerTo('auth'))[0]).toBe(3);
    rmSync(join(disk, 'greedy.bin'));

    // ThingsBoard comes back: the backlog drains, and data is taken again with no space added by
    // hand (the other program's 20 MB stay).
    broker = await TestBroker.start(brokerPort);
    tb = await FakeThingsBoard.connect(broker.port);
    const received = (): Set<number> =>
      new Set(
        tb!
          .fromGateway('v1/gateway/telemetry')
          .flatMap((m) => (m.CP_FULL as { values: { blob: string } }[] | undefined) ?? [])
          .map((e) => Number(e.values.blob.split(':')[0])),
      );
    await tb.waitFor(() => accepted.every((s) => received().has(s)), 30_000, 'every accepted reading');
    await gateway.waitForLog((l) => String(l.msg).startsWith('storage: writes work again'), 20_000);
    expect((await readiness()).status).toBe(200);
    let again: number[] = [];
    for (let attempt = 0; attempt < 20 && again.length === 0; attempt++) {
      again = (await send(cp, seq, 5)).accepted;
      seq += 5;
      if (again.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(again.length).toBeGreaterThan(0);
    accepted.push(...again);

    // Nothing acknowledged is lost, and what was written since reached ThingsBoard too.
    await tb.waitFor(() => accepted.every((s) => received().has(s)), 20_000, 'every accepted reading');
    expect(gateway.logs.filter((l) => l.level >= 60)).toEqual([]);
    await cp.shut();
    await gateway.stop();
  },
  180_000,
);

it.skipIf(mountProblem !== undefined)(
  'space freed by another program: ready and taking records again by itself, with no new traffic meanwhile',
  async () => {
    for (const f of ['gateway.db', 'gateway.db-wal', 'gateway.db-shm', 'other-program.bin']) {
      rmSync(join(disk, f), { force: true });
    }
    fill(join(disk, 'other-program.bin'), 20 * MB);
    const { gateway, cp, readiness } = await startGateway('second.db');
    const { refusal, next } = await fillUntilRefused(cp, 0);
    expect(refusal?.slice(0, 3)).toEqual([4, expect.any(String), 'InternalError']);
    expect((await readiness()).status).toBe(503);

    // The other program gives its 20 MB back; the station sends nothing, ThingsBoard stays away.
    const since = gateway.logs.length;
    rmSync(join(disk, 'other-program.bin'));
    const line = await gateway.waitForLog(
      (l) => gateway.logs.indexOf(l) >= since && String(l.msg).startsWith('storage: writes work again'),
      15_000,
    );
    expect(line.msg).toMatch(/^storage: writes work again after \d+ failed commits in \d+ s$/);
    expect((await readiness()).status).toBe(200);
    expect((await send(cp, next, 3)).accepted).toHaveLength(3);
  },
  120_000,
);
