/**
 * The production paths, without a container engine (there is none on these machines):
 * - the Dockerfile is checked for what it must do, and the commands of its runtime stage run here
 *   as written (with /app = this checkout, already `npm ci`-ed and built as the build stage is,
 *   and /out = a temporary folder); the resulting tree starts with the image's ENTRYPOINT and CMD,
 *   answers its HEALTHCHECK command, and stops like the container would;
 * - the npm tarball installs into an empty folder without dev dependencies, its bin works, and the
 *   gateway it installs runs (memory storage; sqlite without the compiled binding says what to do);
 * - `npm start` stops the gateway when npm gets SIGTERM (what `docker stop` and systemd send);
 * - the systemd unit has what it needs (and passes `systemd-analyze verify` where available).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayProcess } from '../helpers/gateway-process.js';
import { listeningPort } from '../helpers/listening.js';
import { aBootNotification, connectChargePoint } from '../helpers/ocpp.js';
import { gatewayPids, parentOf } from '../helpers/processes.js';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  scripts: Record<string, string>;
};
/** npm reads its settings from the environment too: use the local cache first, stay quiet. */
const NPM_ENV = {
  ...process.env,
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

const temps: string[] = [];
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tb-ocpp-prod-'));
  temps.push(d);
  return d;
}
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Instruction {
  stage: number;
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword = '', ...rest] = line.split(/\s+/);
    if (keyword.toUpperCase() === 'FROM') stage++;
    out.push({ stage, keyword: keyword.toUpperCase(), args: rest.join(' ') });
  }
  return out;
}

async function sh(script: string, cwd: string): Promise<string> {
  const { stdout } = await exec('bash', ['-euo', 'pipefail', '-c', script], {
    cwd,
    env: NPM_ENV,
    maxBuffer: 1 << 24,
  });
  return stdout;
}

describe('Dockerfile', () => {
  const steps = dockerfile();
  const last = Math.max(...steps.map((s) => s.stage));
  const final = steps.filter((s) => s.stage === last);

  it('is multi-stage, runs as a non-root user with node as PID 1, and checks /healthz', () => {
    expect(last).toBeGreaterThanOrEqual(1);
    expect(steps.find((s) => s.keyword === 'FROM')?.args).toMatch(/ AS build$/);
    const user = final.findLast((s) => s.keyword === 'USER')?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const entrypoint = JSON.parse(final.find((s) => s.keyword === 'ENTRYPOINT')?.args ?? 'null') as string[];
    expect(entrypoint).toEqual(['node', 'dist/cli.js']);
    expect(final.find((s) => s.keyword === 'HEALTHCHECK')?.args).toMatch(/CMD .*\/healthz/);
    expect(final.find((s) => s.keyword === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    // The final image holds no toolchain and no dev dependencies: it only copies the runtime tree.
    expect(
      final
        .filter((s) => s.keyword === 'RUN')
        .map((s) => s.args)
        .join(' '),
    ).not.toMatch(/npm|apt-get/);
    const build = steps.filter((s) => s.stage === 0 && s.keyword === 'RUN').map((s) => s.args);
    expect(build).toContainEqual(
      expect.stringContaining('npm ci --ignore-scripts && npm rebuild better-sqlite3'),
    );
    expect(build).toContainEqual('npm run build');
  });

  it('its runtime-tree and smoke steps work here, and the tree they make runs the gateway', async () => {
    const build = steps.filter((s) => s.stage === 0 && s.keyword === 'RUN').map((s) => s.args);
    const runtime = build.slice(build.indexOf('npm run build') + 1);
    expect(runtime).toHaveLength(2);
    const out = temp();
    // /app is this checkout (CI ran `npm ci` and `npm run build` in it, as the build stage does).
    const script = runtime.map((r) => r.replaceAll('/out', out).replaceAll('/app', ROOT)).join(' && ');
    const stdout = await sh(script, ROOT);
    expect(stdout).toContain(pkg.version);
    expect(stdout).toContain('configuration is valid');
    expect(existsSync(join(out, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(out, 'node_modules', 'vitest'))).toBe(false);

    // What the container runs, as it runs it: ENTRYPOINT + CMD in WORKDIR, on sqlite storage (the
    // native binding loads), with the HEALTHCHECK command answering; SIGTERM → exit 0.
    writeFileSync(
      join(out, 'config', 'tb_gateway.json'),
      JSON.stringify({
        thingsboard: {
          host: '127.0.0.1',
          port: 1,
          security: { accessToken: 'T' },
          shutdownGracePeriodSeconds: 0.2,
        },
        storage: { type: 'sqlite', data_file_path: './data/gateway.db' },
        connectors: [{ type: 'ocpp', name: 'OCPP', configuration: 'ocpp.json' }],
      }),
    );
    const ocpp = JSON.parse(readFileSync(join(out, 'config', 'ocpp.json'), 'utf8')) as {
      centralSystem: { port: number };
    };
    ocpp.centralSystem.port = 0;
    writeFileSync(join(out, 'config', 'ocpp.json'), JSON.stringify(ocpp));
    const entrypoint = JSON.parse(final.find((s) => s.keyword === 'ENTRYPOINT')?.args ?? '[]') as string[];
    const cmd = JSON.parse(final.find((s) => s.keyword === 'CMD')?.args ?? '[]') as string[];
    expect(entrypoint.slice(0, 2)).toEqual(['node', 'dist/cli.js']);
    const healthcheck = JSON.parse(
      /CMD (\[.*\])$/.exec(final.find((s) => s.keyword === 'HEALTHCHECK')?.args ?? '')?.[1] ?? '[]',
    ) as string[];
    expect(healthcheck[0]).toBe('node');
    const probe = async (port: string) => {
      try {
        await exec(process.execPath, healthcheck.slice(1), {
          cwd: out,
          env: { ...process.env, TB_GW_STATUS_PORT: port },
        });
        return 0;
      } catch (err) {
        return (err as { code: number }).code;
      }
    };
    const gw = new GatewayProcess(
      [...entrypoint.slice(2), ...cmd],
      { LOG_LEVEL: 'info' },
      join(out, entrypoint[1] ?? ''),
      out,
    );
    let statusPort: string | undefined;
    try {
      await gw.started();
      const url = String((await gw.waitForLog((l) => l.msg.startsWith('status server listening'))).url);
      statusPort = new URL(url).port;
      const ready = await fetch(new URL('readyz', url));
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ checks: { storageWritable: true, listening: true } });
      expect(existsSync(join(out, 'data', 'gateway.db'))).toBe(true);
      expect(await probe(statusPort)).toBe(0);
    } finally {
      gw.kill('SIGTERM');
      expect((await gw.exited).code).toBe(0);
    }
    // Nothing answers any more: the HEALTHCHECK says so.
    expect(await probe(statusPort ?? '')).toBe(1);
  }, 120_000);
});

describe('installing the SQLite binding', () => {
  it('prebuild-install, run where npm runs it, is told to build from source (no download from GitHub)', async () => {
    // npm runs better-sqlite3's install script in its own folder; prebuild-install reads
    // .prebuild-installrc from there upwards. Its rc.js, given the binding's package.json as
    // prebuild-install gives it, returns the options it settled on.
    const binding = join(ROOT, 'node_modules', 'better-sqlite3');
    const env = Object.fromEntries(
      Object.entries(NPM_ENV).filter(([k]) => !/^npm_config_build_from_source$/i.test(k)),
    );
    const script =
      "process.stdout.write(String(require('../prebuild-install/rc.js')(require('./package.json')).buildFromSource))";
    const { stdout } = await exec(process.execPath, ['-e', script], { cwd: binding, env });
    expect(stdout).toBe('true');
    // And the Dockerfile's build stage has the file where its `npm rebuild` runs.
    expect(
      dockerfile()
        .filter((s) => s.stage === 0 && s.keyword === 'COPY')
        .map((s) => s.args),
    ).toContainEqual(expect.stringContaining('.prebuild-installrc'));
  });
});

describe('the npm package', () => {
  it('installs from its tarball into an empty folder without dev dependencies; its bin works and runs the gateway', async () => {
    const packs = temp();
    // dist/ is already built (npm test builds first): pack without running prepare again.
    await sh(`npm pack --ignore-scripts --silent --pack-destination ${JSON.stringify(packs)}`, ROOT);
    const tarball = readdirSync(packs).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBe(`${pkg.name}-${pkg.version}.tgz`);
    const listing = await sh(`tar -tzf ${JSON.stringify(join(packs, tarball ?? ''))}`, ROOT);
    expect(listing).toContain('package/dist/cli.js');
    expect(listing).toContain('package/schemas/ocpp2.1.json');
    expect(listing).toContain('package/config/tb_gateway.json');
    expect(listing).not.toMatch(/package\/(src|test)\//);

    const app = temp();
    writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
    // --ignore-scripts: the SQLite binding is not compiled here (90 s, and the Dockerfile test
    // above starts a gateway on it); --version, check-config and memory storage never load it.
    await sh(`npm install --omit=dev --ignore-scripts ${JSON.stringify(join(packs, tarball ?? ''))}`, app);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'aedes'))).toBe(false);
    const bin = join(app, 'node_modules', '.bin', 'tb-ocpp-gateway');
    expect((await exec(bin, ['--version'])).stdout.trim()).toBe(pkg.version);
    const check = await exec(bin, [
      'check-config',
      '--config',
      join(app, 'node_modules', pkg.name, 'config', 'tb_gateway.json'),
    ]);
    expect(check.stdout).toContain('configuration is valid');
    expect(check.stdout).toContain(
      'warn: the ThingsBoard access token is the placeholder "YOUR_GATEWAY_ACCESS_TOKEN"',
    );

    // It runs: with memory storage (no native code needed) a charge point boots through it.
    const config = join(app, 'tb_gateway.json');
    writeFileSync(
      join(app, 'ocpp.json'),
      JSON.stringify({ centralSystem: { port: 0 }, chargePoints: [{ idRegexpPattern: 'CP_.*' }] }),
    );
    const gatewayJson = (storage: Record<string, unknown>) =>
      JSON.stringify({
        thingsboard: {
          host: '127.0.0.1',
          port: 1,
          security: { accessToken: 'T' },
          shutdownGracePeriodSeconds: 0.2,
        },
        storage,
        connectors: [{ type: 'ocpp', name: 'Installed', configuration: 'ocpp.json' }],
      });
    writeFileSync(config, gatewayJson({ type: 'memory' }));
    const cli = join(app, 'node_modules', pkg.name, 'dist', 'cli.js');
    const gw = new GatewayProcess(['--config', config], { LOG_LEVEL: 'info' }, cli, app);
    try {
      await gw.started();
      const cp = await connectChargePoint({
        url: `ws://127.0.0.1:${await listeningPort(gw, 'Installed')}`,
        identity: 'CP_1',
      });
      expect(await cp.call('BootNotification', aBootNotification())).toMatchObject({ status: 'Accepted' });
      await cp.close({ code: 1000 });
    } finally {
      gw.kill('SIGTERM');
      expect((await gw.exited).code).toBe(0);
    }
    // Installed without its scripts the SQLite binding is not compiled: sqlite storage says what to do.
    writeFileSync(config, gatewayJson({ type: 'sqlite', data_file_path: './data/gateway.db' }));
    const sqlite = new GatewayProcess(['--config', config], { LOG_LEVEL: 'info' }, cli, app);
    expect((await sqlite.exited).code).toBe(2);
    expect(sqlite.stderr).toContain('the SQLite binding (better-sqlite3) is not built');
    expect(sqlite.stderr).toContain('npm rebuild better-sqlite3');
    expect(sqlite.stderr).not.toContain('Could not locate the bindings file');
  }, 120_000);

  it('"prepare" skips the build without TypeScript (npm ci --omit=dev), instead of failing', async () => {
    const bare = temp();
    await sh(
      `mkdir -p scripts && cp ${JSON.stringify(join(ROOT, 'scripts', 'prepare.js'))} scripts/ && cp ${JSON.stringify(join(ROOT, 'package.json'))} .`,
      bare,
    );
    const { stdout } = await exec(process.execPath, [join(bare, 'scripts', 'prepare.js')], { cwd: bare });
    expect(stdout).toContain(
      'prepare: TypeScript is not installed (dev dependencies omitted): dist/ not rebuilt',
    );
    expect(pkg.scripts.prepare).toBe('node scripts/prepare.js');
  });

  it('npm start: SIGTERM to npm stops the gateway cleanly, leaving no orphan', async () => {
    const dir = temp();
    writeFileSync(
      join(dir, 'ocpp.json'),
      JSON.stringify({ centralSystem: { port: 0 }, chargePoints: [{ idRegexpPattern: '.*' }] }),
    );
    const config = join(dir, 'tb_gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        thingsboard: {
          host: '127.0.0.1',
          port: 1,
          security: { accessToken: 'T' },
          shutdownGracePeriodSeconds: 0.2,
        },
        connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
      }),
    );
    const npm = spawn('npm', ['start', '--silent', '--', '--config', config], {
      cwd: ROOT,
      env: { ...NPM_ENV, LOG_LEVEL: 'info', TB_GW_STATUS_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes('"gateway started"')) {
        if (Date.now() > deadline) throw new Error(`the gateway did not start under npm start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const gateway = gatewayPids(config);
      expect(gateway).toHaveLength(1);
      // exec: the gateway is npm's own child, with no shell between them to swallow the signal.
      expect(parentOf(gateway[0] as number)).toBe(npm.pid);
      npm.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('"msg":"stopped"');
      expect(gatewayPids(config)).toEqual([]);
    } finally {
      // Whatever failed above, nothing this test started outlives it.
      npm.kill('SIGKILL');
      for (const pid of gatewayPids(config)) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);
});

describe('systemd unit', () => {
  const unit = readFileSync(join(ROOT, 'deploy', 'tb-ocpp-gateway.service'), 'utf8');
  const setting = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];

  it('runs the CLI as its own user, restarts on failure but not on a bad configuration, and allows many sockets', () => {
    expect(setting('ExecStart')).toMatch(/node .*dist\/cli\.js --config /);
    expect(setting('User')).toBe('tb-ocpp-gateway');
    expect(setting('KillSignal')).toBe('SIGTERM');
    expect(setting('Restart')).toBe('on-failure');
    expect(setting('RestartPreventExitStatus')).toBe('2');
    expect(Number(setting('LimitNOFILE'))).toBeGreaterThanOrEqual(65536);
  });

  it.runIf(existsSync('/usr/bin/systemd-analyze') && existsSync('/usr/bin/node'))(
    'passes systemd-analyze verify',
    async () => {
      const { stderr } = await exec('systemd-analyze', [
        'verify',
        join(ROOT, 'deploy', 'tb-ocpp-gateway.service'),
      ]);
      expect(stderr).toBe('');
    },
  );
});
