/**
 * Issue 8, a full disk with the SQLite outbox, end to end. SQLITE_FULL is produced honestly with
 * `storage.max_database_size_mb` (SQLite's max_page_count): the database cannot grow past it, as
 * on a full disk. While full, data messages get CALLERROR InternalError (never a false "accepted"),
 * messages that store nothing are answered, one warning says what is happening; once the backlog
 * drains the gateway accepts data again by itself, and nothing acknowledged is lost.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TestBroker } from '../helpers/broker.js';
import { freePort, GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import type { RawChargePoint } from '../helpers/ocpp.js';
import {
  aNumberedMeterValues,
  bootedStation,
  SEQ_TIMESERIES,
  writeOutboxGatewayConfig,
} from '../helpers/outbox-gateway.js';
import { FakeThingsBoard } from '../helpers/thingsboard.js';

const TOKEN = 'GW_DISK_FULL';
const dir = new TempDir();
let gateway: GatewayProcess | undefined;
let broker: TestBroker | undefined;
let tb: FakeThingsBoard | undefined;
let cp: RawChargePoint | undefined;

afterAll(async () => {
  await cp?.shut();
  await gateway?.stop();
  await tb?.close();
  await broker?.stop();
  dir.remove();
});

const meterValues = (seq: number): Record<string, unknown> =>
  aNumberedMeterValues(seq, Date.UTC(2026, 10, 23));

it('a full database answers what stores nothing, refuses data honestly, and recovers by itself', async () => {
  const brokerPort = await freePort();
  const config = writeOutboxGatewayConfig(dir, {
    brokerPort,
    token: TOKEN,
    chargePointId: 'CP_FULL',
    timeseries: [SEQ_TIMESERIES],
    storage: { data_file_path: join(dir.path, 'gateway.db'), max_database_size_mb: 0.0625 },
  });
  gateway = GatewayProcess.run(config);
  await gateway.started();
  cp = await bootedStation(gateway, 'CP_FULL');

  // The broker is down: readings pile up until the database is full.
  const accepted: number[] = [];
  let refusal: unknown[] | undefined;
  for (let seq = 1; seq <= 5000 && refusal === undefined; seq++) {
    cp.send(JSON.stringify([2, `mv${seq}`, 'MeterValues', meterValues(seq)]));
    const answer = await cp.answerTo(`mv${seq}`);
    if (answer[0] === 3) accepted.push(seq);
    else refusal = answer;
  }
  expect(refusal?.slice(2, 3)).toEqual(['InternalError']);
  expect(accepted.length).toBeGreaterThan(10);

  // Still full: data keeps being refused, what stores nothing is answered.
  for (const seq of [90_001, 90_002, 90_003]) {
    cp.send(JSON.stringify([2, `again${seq}`, 'MeterValues', meterValues(seq)]));
    expect((await cp.answerTo(`again${seq}`))[2]).toBe('InternalError');
  }
  cp.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
  expect((await cp.answerTo('hb'))[0]).toBe(3);
  cp.send(JSON.stringify([2, 'auth', 'Authorize', { idTag: 'TAG1' }]));
  expect((await cp.answerTo('auth'))[0]).toBe(3);
  const warnings = gateway.logs.filter((l) => String(l.msg).startsWith('storage: writes fail'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]?.reason).toBe('the disk is full (or max_database_size_mb is reached)');

  // ThingsBoard comes back: the backlog drains, and the gateway accepts data again by itself.
  broker = await TestBroker.start(brokerPort);
  tb = await FakeThingsBoard.connect(broker.port);
  await gateway.waitForLog((l) => String(l.msg).startsWith('storage: writes work again'), 20_000);
  let after: unknown[] | undefined;
  for (let attempt = 0; attempt < 50 && after?.[0] !== 3; attempt++) {
    cp.send(JSON.stringify([2, `after${attempt}`, 'MeterValues', meterValues(100_000 + attempt)]));
    after = await cp.answerTo(`after${attempt}`);
    if (after[0] === 3) accepted.push(100_000 + attempt);
    else await new Promise((r) => setTimeout(r, 200));
  }
  expect(after?.[0]).toBe(3);

  // Nothing acknowledged is lost: every accepted reading reaches ThingsBoard.
  const received = (): Set<number> =>
    new Set(
      tb!
        .fromGateway('v1/gateway/telemetry')
        .flatMap((m) => (m.CP_FULL as { values: { seq: string } }[] | undefined) ?? [])
        .map((e) => Number(e.values.seq)),
    );
  await tb.waitFor(() => accepted.every((s) => received().has(s)), 20_000, 'every accepted reading');
});
