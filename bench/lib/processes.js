/**
 * The processes a bench run owns — broker, gateway, load generator, bare baseline server — and
 * the one registry that stops them all, in `finally` and on SIGINT, whatever happened.
 * Everything listens and connects on 127.0.0.1.
 */
import { fork, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BENCH = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'dist/cli.js');
export const MOSQUITTO = '/usr/sbin/mosquitto';

/** Monotonic milliseconds, comparable across processes (CLOCK_MONOTONIC is system-wide on Linux). */
export const now = () => Number(process.hrtime.bigint()) / 1e6;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Resolves once something accepts TCP on 127.0.0.1:port. */
export async function waitForPort(port, timeoutMs, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((r) => {
      const s = createConnection({ port, host: '127.0.0.1' });
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (!isAlive()) throw new Error(`process for port ${port} exited before listening`);
    if (Date.now() > deadline)
      throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64/arm64

/** RSS (bytes) and CPU seconds (user + system) of a live process, from /proc. */
export function procStats(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024, cpu };
  } catch {
    return { rss: NaN, hwm: NaN, cpu: NaN };
  }
}

/** Soft and hard limits on open files (the bench needs about N + 100 per process). */
export function fileLimits() {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
    return { soft: Number(m[1]) || Infinity, hard: Number(m[2]) || Infinity };
  } catch {
    return { soft: NaN, hard: NaN };
  }
}

/** Every child of this run; stopAll() is idempotent and never throws. */
export class Children {
  constructor() {
    this.live = new Set();
  }

  track(child, name) {
    child.benchName = name;
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
    return child;
  }

  async stop(child, graceMs = 10_000) {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async stopAll() {
    await Promise.all([...this.live].map((c) => this.stop(c, 5000).catch(() => undefined)));
  }

  /** Last resort on process exit: synchronous SIGKILL of whatever is left. */
  killNow() {
    for (const c of this.live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Mosquitto when installed (the harness writes its config), else aedes in its own process. */
export async function startBroker(children, dir, { preferAedes = false, port: fixedPort, tag = '' } = {}) {
  const port = fixedPort ?? (await freePort());
  let child;
  let kind;
  if (!preferAedes && existsSync(MOSQUITTO)) {
    kind = 'mosquitto';
    const conf = join(dir, `mosquitto${tag}.conf`);
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        // No per-client queue or in-flight cap: a slow subscriber must not drop datapoints.
        'max_queued_messages 0',
        'max_inflight_messages 0',
        'set_tcp_nodelay true',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        '',
      ].join('\n'),
    );
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  } else {
    kind = 'aedes';
    child = spawn(process.execPath, [join(BENCH, 'aedes-broker.js'), String(port)], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  }
  children.track(child, kind);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  try {
    await waitForPort(port, 10_000, () => child.exitCode === null);
  } catch (err) {
    throw new Error(`${kind} did not start: ${err.message}\n${stderr}`, { cause: err });
  }
  return { kind, port, pid: child.pid, child, stderr: () => stderr };
}

/**
 * The gateway through its CLI. Its stdout (pino JSON) is read so the pipe never fills; warnings
 * and errors are tallied by message for the report. `inspect` opens the V8 inspector on a free
 * port (heap figures and CPU profiles are taken through it, no change to the gateway needed).
 */
export async function startGateway(
  children,
  configFile,
  { inspect = false, logLevel = 'warn', nodeOptions = [], cli = CLI } = {},
) {
  const args = [...nodeOptions];
  if (inspect) args.push('--inspect=127.0.0.1:0');
  args.push(cli, '--config', configFile);
  const child = spawn(process.execPath, args, {
    env: { ...process.env, LOG_LEVEL: logLevel },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.track(child, 'gateway');
  const gw = { pid: child.pid, child, warnings: new Map(), stderr: '', inspectorUrl: undefined };
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (entry.level >= 40) {
        gw.lastWarning = { at: now(), entry };
        const key = `${entry.level >= 50 ? 'error' : 'warn'}: ${entry.msg}`;
        const seen = gw.warnings.get(key);
        if (seen) seen.count++;
        else gw.warnings.set(key, { count: 1, example: line.slice(0, 400) });
      }
    }
  });
  const inspector = new Promise((resolveUrl) => {
    child.stderr.on('data', (chunk) => {
      gw.stderr = (gw.stderr + chunk).slice(-8000);
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(gw.stderr);
      if (m && !gw.inspectorUrl) {
        gw.inspectorUrl = m[1];
        resolveUrl(m[1]);
      }
    });
  });
  if (inspect) {
    await Promise.race([inspector, sleep(10_000)]);
    if (!gw.inspectorUrl) throw new Error(`gateway inspector did not open\n${gw.stderr}`);
  }
  gw.exited = () => child.exitCode !== null || child.signalCode !== null;
  gw.warningList = () => [...gw.warnings].map(([msg, v]) => ({ msg, count: v.count, example: v.example }));
  return gw;
}

/** The bare WebSocket + Ajv server (bench/baseline-server.js): the protocol-stack ceiling. */
export async function startBaseline(children) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(BENCH, 'baseline-server.js'), String(port)], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  children.track(child, 'baseline-server');
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  try {
    await waitForPort(port, 10_000, () => child.exitCode === null);
  } catch (err) {
    throw new Error(`baseline server did not start: ${err.message}\n${stderr}`, { cause: err });
  }
  return { pid: child.pid, port, child, url: `ws://127.0.0.1:${port}` };
}

/**
 * The load generator (bench/load.js) in its own process, driven by request/response messages
 * over the IPC channel.
 */
export class LoadGenerator {
  constructor(children) {
    this.child = children.track(
      fork(join(BENCH, 'load.js'), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      }),
      'load',
    );
    this.pid = this.child.pid;
    this.nextId = 1;
    this.pending = new Map();
    this.child.on('message', (m) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`load generator: ${m.error}`));
    });
    this.child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`load generator exited (${code ?? signal})`));
      }
      this.pending.clear();
    });
  }

  /** Sends a command; rejects after timeoutMs so that no step of the bench can hang. */
  request(cmd, args = {}, timeoutMs = 120_000) {
    const id = this.nextId++;
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load generator: "${cmd}" took over ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolvePromise, reject, timer });
      this.child.send({ id, cmd, ...args });
    });
  }
}
