/**
 * storm-rotated (opt-in): the storm of `storm.js` with charge points whose HTTP Basic password was
 * rotated through the gateway, so every handshake is decided on a verifier from the state store
 * (SQLite) rather than on ocpp.json. The store is seeded before the gateway starts, as the gateway
 * itself would have written it, one record per charge point:
 *
 *   kdf        the verifier of a password ThingsBoard set (`set` / SetVariables / ChangeConfiguration):
 *              salted scrypt, whose cost is the point of a KDF
 *   generated  the verifier of a password `rotatePassword` generated (when the build has one)
 *
 * Every charge point presents the same password (one verifier is computed for the seed instead of
 * N; the gateway cannot tell, each record is read and checked on its own). Measured, per kind:
 *   connect   N charge points connect from cold (200 handshakes at a time), boot, Heartbeat
 *   outage    `rounds` storms: all drop (TCP reset) and reconnect at once — the gateway kept running
 *   restart   the gateway restarts (same store) and all reconnect at once — nothing in its memory;
 *             then again with stations retrying a 503 after 2 s (± 50 %) for up to 4 minutes
 * Otherwise no retries: a refusal (HTTP 503 when the admissions waiting are over their bound or
 * took over 10 s) counts as refused.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sleep, startGateway, waitForPort } from '../lib/processes.js';
import { round } from '../lib/stats.js';
import { connectAll, cpuDelta, cpuSnapshot, startStack, stopStack } from './stack.js';

/** 40 characters of OCPP's passwordString, as `rotatePassword` generates them. */
const PASSWORD = 'bench-Rotated-Pass*word.0123456789-ABCDE';
const PROBE_TOKEN = 'Bearer bench-probe-token';
/** How long stations keep retrying after a restart before the run gives up on them. */
const RETRY_FOR_MS = 240_000;
/** A module of the gateway build under test (`--cli`, default dist/): it seeds as that build would. */
const dist = (ctx, path) => import(pathToFileURL(join(dirname(ctx.args.cli), path)).href);

/** Writes a password record for CP0…CP<n-1> into the SQLite file, as the gateway does after a rotation. */
async function seed(ctx, dataFile, n, kind) {
  const [{ SqliteDatabase, SqliteStateStore }, passwords, { PASSWORD_NAMESPACE }, { createLogger }] =
    await Promise.all([
      dist(ctx, 'outbox/index.js'),
      dist(ctx, 'security/passwords.js'),
      dist(ctx, 'security/state.js'),
      dist(ctx, 'log.js'),
    ]);
  const verifier =
    kind === 'generated' ? passwords.hashGeneratedPassword(PASSWORD) : await passwords.hashPassword(PASSWORD);
  const logger = createLogger({ level: 'warn', pretty: false });
  const database = new SqliteDatabase({ dataFilePath: dataFile, logger });
  const state = new SqliteStateStore({ database, logger });
  await state.open();
  const updatedAt = new Date().toISOString();
  const writes = [];
  for (let i = 0; i < n; i++) {
    writes.push(state.putRecord(PASSWORD_NAMESPACE, `CP${i}`, { current: [verifier], updatedAt }));
  }
  await Promise.all(writes);
  await state.close();
  ctx.log(`  seeded ${n} ${kind} verifiers (${verifier.split('$')[0]})`);
}

/** Which kinds this build can seed (`generated` needs the fast verifier of generated passwords). */
export async function rotatedKinds(ctx) {
  const passwords = await dist(ctx, 'security/passwords.js');
  return typeof passwords.hashGeneratedPassword === 'function' ? ['kdf', 'generated'] : ['kdf'];
}

async function oneStorm(ctx, stack, all, retry = {}) {
  const cpu0 = cpuSnapshot(ctx, stack);
  const r = await stack.load.request(
    'storm',
    { url: stack.url, sourceIps: ctx.sourceIps, timeoutMs: 60_000, password: PASSWORD, all, ...retry },
    600_000,
  );
  return {
    cps: r.cps,
    accepted: r.accepted,
    refused: r.refused,
    reasons: r.reasons,
    retried: r.retried,
    allAcceptedS: r.allAcceptedMs === undefined ? undefined : round(r.allAcceptedMs / 1000, 2),
    lastAcceptedS: round((r.acceptedAt.max ?? NaN) / 1000, 2),
    acceptedAt: r.acceptedAt,
    cpu: cpuDelta(cpu0, cpuSnapshot(ctx, stack)),
  };
}

function rows(ctx, cfg, what, s) {
  ctx.row(
    'storm-rotated',
    cfg,
    `${what}: all re-accepted after`,
    s.allAcceptedS ?? `not all (${s.accepted}/${s.cps})`,
    's',
  );
  ctx.row(
    'storm-rotated',
    cfg,
    `${what}: refused`,
    `${s.refused} ${JSON.stringify(s.reasons)}`,
    '',
    '0',
    s.refused === 0,
  );
  ctx.row(
    'storm-rotated',
    cfg,
    `${what}: accepted at p50 / p99 / max`,
    `${s.acceptedAt.p50 ?? '—'} / ${s.acceptedAt.p99 ?? '—'} / ${s.acceptedAt.max ?? '—'}`,
    'ms',
  );
  ctx.row('storm-rotated', cfg, `${what}: gateway CPU`, s.cpu.gateway, 's');
}

async function oneKind(ctx, { n, rounds, kind }) {
  const tag = `storm-rotated-${kind}`;
  const dir = join(ctx.dir, tag);
  mkdirSync(dir, { recursive: true });
  await seed(ctx, join(dir, `${tag}.db`), n, kind);
  const stack = await startStack(ctx, {
    storage: 'sqlite',
    tag,
    security: [
      { type: 'token', tokens: [PROBE_TOKEN] },
      // The configured (initial) passwords: a stored one replaces them for its charge point.
      {
        type: 'basic',
        usernameIsChargePointId: true,
        passwords: { 'bench-initial': 'bench-Initial-Pass-01' },
      },
    ],
    probeHeaders: { authorization: PROBE_TOKEN },
  });
  const cfg = `sqlite, N=${n}, ${kind}`;
  const out = { kind, n };
  try {
    const cpu0 = cpuSnapshot(ctx, stack);
    const c = await connectAll(ctx, stack, stack.url, { count: n, password: PASSWORD });
    out.connect = {
      s: round(c.ms / 1000, 2),
      ok: c.ok,
      failed: c.failed,
      reasons: c.reasons,
      cpu: cpuDelta(cpu0, cpuSnapshot(ctx, stack)),
    };
    ctx.log(`  ${kind}: connect ${c.ok}/${n} in ${out.connect.s} s ${JSON.stringify(c.reasons)}`);
    ctx.row('storm-rotated', cfg, 'connect from cold: all booted after', out.connect.s, 's');
    ctx.row(
      'storm-rotated',
      cfg,
      'connect from cold: failed',
      `${c.failed} ${JSON.stringify(c.reasons)}`,
      '',
      '0',
      c.failed === 0,
    );
    await sleep(1000);
    out.outage = [];
    for (let i = 0; i < rounds; i++) {
      // Every charge point, also one a previous round left refused (it would retry): rounds compare.
      const s = await oneStorm(ctx, stack, true);
      out.outage.push(s);
      ctx.log(
        `  ${kind}: outage ${i + 1}: all after ${s.allAcceptedS ?? '—'} s, refused ${s.refused} ${JSON.stringify(s.reasons)}`,
      );
      await sleep(1000);
    }
    const worst = out.outage.reduce((w, s) =>
      s.refused > w.refused || (s.refused === w.refused && (s.lastAcceptedS ?? 0) > (w.lastAcceptedS ?? 0))
        ? s
        : w,
    );
    rows(ctx, cfg, `outage (worst of ${rounds})`, worst);

    // The gateway restarts on the same store: whatever it kept in memory is gone. Once as the
    // storm target is measured (no retries), once as stations behave (a 503 retried in 2 s ± 50 %).
    const restart = async (retry) => {
      await ctx.children.stop(stack.gw.child, 15_000);
      stack.gw = await startGateway(ctx.children, stack.cfg.file, {
        cli: ctx.args.cli,
        nodeOptions: ctx.args.gatewayNodeOptions,
      });
      await waitForPort(stack.cfg.port, 20_000, () => !stack.gw.exited());
      return oneStorm(ctx, stack, true, retry);
    };
    out.restart = await restart();
    ctx.log(
      `  ${kind}: restart: all after ${out.restart.allAcceptedS ?? '—'} s, refused ${out.restart.refused} ${JSON.stringify(out.restart.reasons)}`,
    );
    rows(ctx, cfg, 'gateway restart', out.restart);
    out.restartRetrying = await restart({ retryMs: 2000, retryForMs: RETRY_FOR_MS });
    ctx.log(
      `  ${kind}: restart, retrying: all after ${out.restartRetrying.allAcceptedS ?? '—'} s, ` +
        `refused ${out.restartRetrying.refused}, ${out.restartRetrying.retried} retries`,
    );
    rows(ctx, cfg, 'gateway restart, 503 retried', out.restartRetrying);
    ctx.row('storm-rotated', cfg, 'gateway restart, 503 retried: retries', out.restartRetrying.retried, '');
    return out;
  } finally {
    await stopStack(ctx, stack);
  }
}

export async function stormRotated(ctx, { n, rounds }) {
  const kinds = await rotatedKinds(ctx);
  ctx.log(
    `storm-rotated: ${n} charge points with stored passwords (${kinds.join(', ')}), ${rounds} round(s)`,
  );
  const out = {};
  for (const kind of kinds) out[kind] = await oneKind(ctx, { n, rounds, kind });
  return out;
}
