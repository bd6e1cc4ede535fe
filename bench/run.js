#!/usr/bin/env node
/**
 * npm run bench — the gateway's benchmark (issue 5). Starts a broker, the gateway through its CLI
 * (dist/cli.js, so build first), a load generator in its own process and an MQTT subscriber
 * playing ThingsBoard; runs the selected scenarios; prints one table and writes every figure to
 * bench/results/<ISO date>.json. Not a test: no figure here fails anything but its own row.
 *
 *   node bench/run.js [--scenario idle,baseline,throughput,latency,rpc,storm,outage,slow-reader,ratelimited,storm-rotated]
 *                     [--n 1000,5000,10000]
 *                     [--duration s] [--storage memory|sqlite|both] [--compression on|off|both]
 *                     [--rate msg/s] [--rounds k] [--windows k] [--smoke] [--profile] [--out file]
 *                     [--no-bare] [--keep] [--aedes] [--source-ips k]
 *                     [--cli other/dist/cli.js] [--gateway-node-options="…"] [--no-attribute]
 * See docs/performance.md for what each scenario measures and how.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH, CLI, Children, fileLimits, MOSQUITTO, ROOT, startBroker } from './lib/processes.js';
import { round } from './lib/stats.js';
import { chargePointsConfig } from './lib/gateway-config.js';
import { ThingsBoardSubscriber } from './lib/thingsboard.js';
import { idle } from './scenarios/idle.js';
import { latency } from './scenarios/latency.js';
import { outage } from './scenarios/outage.js';
import { ratelimited, ratelimitedRows } from './scenarios/ratelimited.js';
import { rpc } from './scenarios/rpc.js';
import { slowReader } from './scenarios/slow-reader.js';
import { storm } from './scenarios/storm.js';
import { stormRotated } from './scenarios/storm-rotated.js';
import { baseline, throughput } from './scenarios/throughput.js';

const ALL = [
  'idle',
  'baseline',
  'throughput',
  'latency',
  'rpc',
  'storm',
  'outage',
  'slow-reader',
  'ratelimited',
  'storm-rotated',
];
/**
 * Run when --scenario is not given; `outage`, `slow-reader`, `ratelimited` and `storm-rotated` are
 * opt-in (a minute, 20 s, 30 s, a few minutes).
 */
const DEFAULT_SET = ['idle', 'baseline', 'throughput', 'latency', 'rpc', 'storm'];

/** Sizes that make the default run finish in a few minutes on a 2-core machine. */
const DEFAULTS = {
  idle: { sizes: [1000, 5000, 10_000], settleMs: 2000 },
  throughput: { n: 1000, durationS: 10, warmS: 3, windows: 3 },
  latency: { n: 1000, rate: 2000, durationS: 10, warmS: 2 },
  storm: { n: 10_000, rounds: 3 },
  rpc: { n: 1000, rounds: 5 },
  outage: { n: 1000, durationS: 10, rate: 2000 },
  'slow-reader': { n: 4, durationS: 15 },
  // ~5× the limit: 2,500 MeterValues/s × 4 timeseries against 2,000 datapoints/s.
  ratelimited: { n: 500, rate: 2500, durationS: 3, limit: 2000 },
  // 2,000 rather than 10,000: without a cache every handshake of it costs a scrypt.
  'storm-rotated': { n: 2000, rounds: 2 },
};
const SMOKE = {
  idle: { sizes: [10, 20], settleMs: 300 },
  throughput: { n: 10, durationS: 1, warmS: 0, windows: 1 },
  latency: { n: 10, rate: 100, durationS: 1, warmS: 0 },
  storm: { n: 20, rounds: 1 },
  rpc: { n: 10, rounds: 2 },
  outage: { n: 10, durationS: 1, rate: 100 },
  'slow-reader': { n: 1, durationS: 1 },
  ratelimited: { n: 10, rate: 100, durationS: 1, limit: 100 },
  'storm-rotated': { n: 20, rounds: 1 },
};

function usage(message) {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write(
    'usage: node bench/run.js [--scenario idle,baseline,throughput,latency,rpc,storm,outage,slow-reader,ratelimited,\n' +
      '  storm-rotated]\n' +
      '  [--n 1000,5000,10000]\n' +
      '  [--duration s] [--storage memory|sqlite|both] [--compression on|off|both] [--rate msg/s] [--rounds k]\n' +
      '  [--windows k]\n' +
      '  [--smoke] [--profile] [--out file] [--no-bare] [--keep] [--aedes] [--source-ips k]\n' +
      '  [--gateway-node-options="<node flags for the gateway>"] [--cli other/dist/cli.js] [--no-attribute]\n',
  );
  process.exit(message ? 2 : 0);
}

function options() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: DEFAULT_SET.join(',') },
      n: { type: 'string' },
      duration: { type: 'string' },
      storage: { type: 'string', default: 'both' },
      compression: { type: 'string', default: 'both' },
      rate: { type: 'string' },
      rounds: { type: 'string' },
      windows: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-bare': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'source-ips': { type: 'string' },
      aedes: { type: 'boolean', default: false },
      'gateway-node-options': { type: 'string', default: '' },
      cli: { type: 'string' },
      'no-attribute': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) usage();
  const scenarios = values.scenario
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of scenarios)
    if (!ALL.includes(s)) usage(`unknown scenario "${s}" (one of ${ALL.join(', ')})`);
  const storages = { memory: ['memory'], sqlite: ['sqlite'], both: ['memory', 'sqlite'] }[values.storage];
  if (!storages) usage('--storage is memory, sqlite or both');
  const compressionModes = { on: [true], off: [false], both: [false, true] }[values.compression];
  if (!compressionModes) usage('--compression is on, off or both');
  const plan = structuredClone(values.smoke ? SMOKE : DEFAULTS);
  const num = (v, what) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) usage(`${what} must be a positive number, got "${v}"`);
    return x;
  };
  if (values.n) {
    const sizes = values.n
      .split(',')
      .map((v) => Math.round(num(v, '--n')))
      .sort((a, b) => a - b);
    plan.idle.sizes = sizes;
    for (const k of ['throughput', 'latency', 'storm', 'rpc', 'outage', 'ratelimited', 'storm-rotated']) {
      plan[k].n = sizes[sizes.length - 1];
    }
  }
  if (values.duration)
    plan.throughput.durationS =
      plan.latency.durationS =
      plan.outage.durationS =
      plan.ratelimited.durationS =
        num(values.duration, '--duration');
  if (values.rate) plan.latency.rate = plan.outage.rate = plan.ratelimited.rate = num(values.rate, '--rate');
  if (values.rounds)
    plan.rpc.rounds =
      plan.storm.rounds =
      plan['storm-rotated'].rounds =
        Math.round(num(values.rounds, '--rounds'));
  if (values.windows) plan.throughput.windows = Math.round(num(values.windows, '--windows'));
  return {
    scenarios: ALL.filter((s) => scenarios.includes(s)),
    storages,
    compressionModes,
    plan,
    smoke: values.smoke,
    profile: values.profile,
    out: values.out,
    idleBare: !values['no-bare'],
    keep: values.keep,
    // Extra loopback source addresses (127.0.0.2, …) only when one address's ~28k ephemeral ports
    // could run out: binding to an explicit address makes the kernel search for a free port on
    // every connect, which costs the generator several times the CPU (measured: 15 s vs 4 s of
    // CPU for a 10k storm).
    sourceIps: values['source-ips']
      ? Math.max(1, Math.min(250, Math.round(num(values['source-ips'], '--source-ips'))))
      : Math.max(1, Math.ceil(Math.max(...plan.idle.sizes, plan.storm.n, plan.throughput.n) / 20_000)),
    aedes: values.aedes,
    // Extra node flags for the gateway, for experiments (e.g. --import=bench/experiments/nodelay.js).
    gatewayNodeOptions: values['gateway-node-options'].split(/\s+/).filter(Boolean),
    // Another build of the gateway (A/B experiments); default dist/cli.js.
    cli: values.cli ? resolve(values.cli) : CLI,
    // Map MeterValues to timeseries only (experiment: what the attribute record costs).
    attribute: !values['no-attribute'],
  };
}

function quiet(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    return (err.stdout ?? '').trim() || undefined;
  }
}

function machine(broker) {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    model: cpuList[0]?.model,
    memoryGB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    broker:
      broker.kind === 'mosquitto' ? quiet(MOSQUITTO, ['-h'])?.split('\n')[0] : 'aedes (in its own process)',
    openFiles: fileLimits(),
    commit: quiet('git', ['rev-parse', '--short', 'HEAD']),
    dirty: Boolean(quiet('git', ['status', '--porcelain', '--', 'src'])),
  };
}

/** The table as aligned pipe rows (readable on a terminal, pastes into Markdown as is). */
function formatTable(rows) {
  const head = ['scenario', 'configuration', 'metric', 'value', 'unit', 'target', 'met'];
  const body = rows.map((r) => [
    r.scenario,
    r.config,
    r.metric,
    String(r.value),
    r.unit ?? '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main() {
  const args = options();
  const stamp = new Date()
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  const resultsDir = join(BENCH, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const outFile =
    args.out ??
    (args.smoke ? join(tmpdir(), `tb-ocpp-bench-smoke-${stamp}.json`) : join(resultsDir, `${stamp}.json`));
  if (!existsSync(args.cli))
    throw new Error(`${args.cli} not found: run "npm run build" first (npm run bench does)`);

  const biggest = Math.max(...args.plan.idle.sizes, args.plan.storm.n);
  const limits = fileLimits();
  if (limits.hard < biggest + 200) {
    process.stderr.write(
      `bench: warning: the open-files hard limit is ${limits.hard}; ${biggest} charge points need about ` +
        `${biggest + 200} per process (gateway and generator each). Raise it (ulimit -Hn) or expect EMFILE failures.\n`,
    );
  }

  const children = new Children();
  const dir = mkdtempSync(join(tmpdir(), 'tb-ocpp-bench-'));
  const rows = [];
  const details = { gatewayWarnings: [], failures: [] };
  const ctx = {
    args,
    dir,
    children,
    stamp,
    resultsDir,
    details,
    sourceIps: args.sourceIps,
    log: (m) => process.stderr.write(`${m}\n`),
    row: (scenario, config, metric, value, unit, target, met) =>
      rows.push({ scenario, config, metric, value, unit, target, met }),
  };
  const onSignal = (signal) => {
    if (ctx.interrupted) process.exit(130);
    ctx.interrupted = true;
    ctx.log(`bench: ${signal}: stopping every process`);
    void Promise.resolve(ctx.tb?.close())
      .then(() => children.stopAll())
      .finally(() => {
        if (!args.keep) rmSync(dir, { recursive: true, force: true });
        process.exit(130);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => children.killNow());

  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  try {
    ctx.broker = await startBroker(children, dir, { preferAedes: args.aedes });
    ctx.tb = await ThingsBoardSubscriber.connect(ctx.broker.port);
    const m = machine(ctx.broker);
    ctx.log(
      `bench: ${m.cores} × ${m.model}, Node ${m.node}, ${m.broker}; scenarios ${args.scenarios.join(', ')}`,
    );
    const primary = args.storages[0];
    const results = {};
    const runners = {
      idle: () => idle(ctx, { ...args.plan.idle, compressionModes: args.compressionModes, storage: primary }),
      baseline: () => baseline(ctx, args.plan.throughput),
      throughput: () => throughput(ctx, { ...args.plan.throughput, storages: args.storages }),
      latency: () => latency(ctx, { ...args.plan.latency, storages: args.storages }),
      rpc: () => rpc(ctx, { ...args.plan.rpc, storage: primary }),
      storm: () => storm(ctx, { ...args.plan.storm, storage: primary }),
      'storm-rotated': () => stormRotated(ctx, args.plan['storm-rotated']),
      outage: () => outage(ctx, args.plan.outage),
      'slow-reader': () => slowReader(ctx, args.plan['slow-reader']),
      ratelimited: async () => {
        const r = await ratelimited(ctx, args.plan.ratelimited);
        ratelimitedRows(ctx, r);
        return r;
      },
    };
    for (const s of args.scenarios) {
      if (ctx.interrupted) break;
      const started = Date.now();
      try {
        results[s] = await runners[s]();
      } catch (err) {
        details.failures.push({ scenario: s, error: String(err?.stack ?? err) });
        ctx.row(
          s,
          '—',
          'scenario failed',
          String(err?.message ?? err)
            .split('\n')[0]
            .slice(0, 100),
          '',
          undefined,
          false,
        );
        ctx.log(`${s}: FAILED: ${err?.stack ?? err}`);
      }
      ctx.log(`  (${s}: ${round((Date.now() - started) / 1000, 1)} s)`);
    }
    if (results.baseline && results.throughput) {
      for (const storage of args.storages) {
        const g = results.throughput[storage];
        if (!g) continue;
        const ratio = g.e2eRate / results.baseline.cpRate;
        results.throughput[storage].ratioToBaseline = round(ratio, 3);
        ctx.row(
          'throughput',
          `${storage} vs bare ws + Ajv`,
          'ratio to protocol-stack ceiling',
          `${round(ratio * 100, 1)} %`,
          '',
          '>= 50 %',
          ratio >= 0.5,
        );
      }
    }
    const table = formatTable(rows);
    process.stdout.write(`\n${table}\n\n`);
    for (const w of details.gatewayWarnings) {
      for (const x of w.warnings) ctx.log(`gateway ${w.stack}: ${x.count} × ${x.msg}`);
    }
    const report = {
      startedAt,
      durationS: round((Date.now() - t0) / 1000, 1),
      machine: m,
      options: { ...args, plan: args.plan },
      gatewayConfig: {
        note: 'one per scenario, generated by bench/lib/gateway-config.js',
        chargePoints: chargePointsConfig({ attribute: args.attribute }),
      },
      rows,
      results,
      ...details,
      table,
    };
    writeFileSync(outFile, JSON.stringify(report, null, 2));
    ctx.log(`bench: results written to ${outFile} (${report.durationS} s)`);
    return details.failures.length === 0 ? 0 : 1;
  } finally {
    await ctx.tb?.close();
    await children.stopAll();
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else ctx.log(`bench: kept ${dir}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
