/**
 * The command-line contract: --help, --version, check-config, exit codes, and a gateway that
 * serves charge points while ThingsBoard is unreachable.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, freePort, GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import { listeningPort } from '../helpers/listening.js';
import { aBootNotification, connectChargePoint } from '../helpers/ocpp.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
};

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function ocppJson(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    centralSystem: { host: '127.0.0.1', port, security: [] },
    chargePoints: [
      { idRegexpPattern: 'CP_.*', deviceNameExpression: '${ChargePointId}', deviceTypeExpression: 'wallbox' },
    ],
    ...extra,
  };
}

describe('tb-ocpp-gateway command line', () => {
  const dirs: TempDir[] = [];
  const procs: GatewayProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop();
    for (const d of dirs.splice(0)) d.remove();
  });
  function tempDir(): TempDir {
    const d = new TempDir();
    dirs.push(d);
    return d;
  }

  it('package.json names the bin and it points at the built CLI', () => {
    expect(resolve(ROOT, pkg.bin['tb-ocpp-gateway'] ?? '')).toBe(CLI);
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists the options and the check-config command', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--config');
    expect(r.stdout).toContain('check-config');
  });

  it('check-config accepts the shipped configuration (exit 0)', async () => {
    const r = await cli(['check-config', '--config', 'config/tb_gateway.json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('configuration is valid');
  });

  it('check-config prints every problem with file and JSON path and exits 2', async () => {
    const dir = tempDir();
    const ocpp = dir.write('ocpp.json', {
      centralSystem: { port: 'ninety' },
      chargePoints: [{ idRegexPattern: 'CP_1', deviceNameExpression: '${Vendor' }],
    });
    const gw = dir.write('tb_gateway.json', {
      thingsboard: { host: '127.0.0.1', port: 1883 },
      connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
    });
    const r = await cli(['check-config', '--config', gw]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${ocpp}: $.centralSystem.port`);
    expect(r.stderr).toContain(`${ocpp}: $.chargePoints[0].idRegexPattern`);
    expect(r.stderr).toContain('did you mean "idRegexpPattern"');
    expect(r.stderr).toContain(`${ocpp}: $.chargePoints[0].deviceNameExpression`);
  });

  it.each([
    ['invalid JSON', '{ "thingsboard": ', /tb_gateway\.json: .*invalid JSON at line 1/],
    [
      'an unknown connector type',
      JSON.stringify({ thingsboard: {}, connectors: [{ type: 'telepathy', configuration: 'x.json' }] }),
      /\$\.connectors\[0\]\.type: .*unknown connector type "telepathy"/,
    ],
  ])('the gateway refuses to start on %s: exit 2 with file and path', async (_what, text, message) => {
    const dir = tempDir();
    const gw = dir.write('tb_gateway.json', text);
    const r = await cli(['--config', gw]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    [
      'a corrupted database file',
      (dir: TempDir) => {
        const db = dir.write('gateway.db', 'this is not a database '.repeat(200));
        return { db, named: db };
      },
    ],
    [
      'a data_file_path under a regular file (unwritable)',
      (dir: TempDir) => {
        const notAFolder = dir.write('plain-file', 'x');
        return { db: join(notAFolder, 'data', 'gateway.db'), named: notAFolder };
      },
    ],
  ])('%s stops start-up with exit 2 and a message naming the path', async (_what, makeDb) => {
    const dir = tempDir();
    const { db, named } = makeDb(dir);
    dir.write('ocpp.json', ocppJson(0));
    const gw = dir.write('tb_gateway.json', {
      thingsboard: { host: '127.0.0.1', port: await freePort() },
      storage: { type: 'sqlite', data_file_path: db },
      connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
    });
    const r = await cli(['--config', gw]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(named);
  });

  it('without a broker it serves charge points and warns once per reconnect attempt with growing delays', async () => {
    const dir = tempDir();
    dir.write('ocpp.json', ocppJson(0));
    const gw = dir.write('tb_gateway.json', {
      thingsboard: {
        host: '127.0.0.1',
        port: await freePort(),
        security: { accessToken: 'SECRET_TOKEN_42' },
        reconnectMinMs: 100,
        reconnectMaxMs: 800,
        shutdownGracePeriodSeconds: 1, // the backlog cannot drain without a broker
      },
      storage: { type: 'memory' },
      connectors: [{ type: 'ocpp', configuration: 'ocpp.json' }],
    });
    const gateway = GatewayProcess.run(gw);
    procs.push(gateway);
    await gateway.started();
    const port = await listeningPort(gateway, 'OCPP Connector');
    const cp = await connectChargePoint({ url: `ws://127.0.0.1:${port}`, identity: 'CP_7' });
    await expect(cp.call('BootNotification', aBootNotification())).resolves.toMatchObject({
      status: 'Accepted',
    });
    await cp.close();
    await gateway.waitForLog((l) => l.attempt === 4, 10_000, 'fourth reconnect warning');
    const warnings = gateway.logs.filter((l) => l.msg.startsWith('cannot reach ThingsBoard'));
    expect(warnings.map((w) => w.attempt)).toEqual(warnings.map((_w, i) => i + 1));
    for (const w of warnings) expect(w.level).toBe(40);
    // Backoff: the delay doubles (±25 % jitter) up to the cap.
    const delays = warnings.map((w) => w.retryInMs as number);
    expect(delays[0]).toBeLessThanOrEqual(125);
    expect(delays[3]).toBeGreaterThanOrEqual(600);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
    expect(gateway.stdout).not.toContain('SECRET_TOKEN_42');
  });
});
