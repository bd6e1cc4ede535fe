/**
 * Python-connector files that used to be refused or misread, and the words an operator gets:
 * `chargePoints[].host`/`port` filters at the handshake, `"type": "TLS"`, an `extension` class,
 * placeholder credentials, memory storage at stop, LOG_LEVEL, and a misspelt messageTypeFilter.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates } from '../helpers/certs.js';
import { CLI, freePort, GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { listeningPort } from '../helpers/listening.js';
import { gatewayPids } from '../helpers/processes.js';
import { aMeterValues, connectChargePoint, handshakeStatus } from '../helpers/ocpp.js';

const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('a Python connector configuration', () => {
  let h: Harness;
  let ws: string;
  let wss: string;
  let ca: Buffer;

  beforeAll(async () => {
    const dir = new TempDir();
    const certs = makeTestCertificates(dir.path, 'CP_TLS');
    ca = certs.ca;
    const entries = [
      { idRegexpPattern: 'local/.*', host: '127\\.0\\.0\\.1', extension: 'CustomOcppUplinkConverter' },
      { idRegexpPattern: 'lan/.*', host: '10\\.\\d+\\.\\d+\\.\\d+' },
      { idRegexpPattern: 'port/.*', port: '1' },
      // Whole match, as for ids: "127.0.0.1" alone never admits 127.0.0.10.
      { idRegexpPattern: 'exact/.*', host: '127.0.0' },
    ];
    h = await Harness.start({
      dir,
      accessToken: 'YOUR_GATEWAY_ACCESS_TOKEN',
      connectors: [
        { name: 'Plain', ocpp: { centralSystem: { host: '127.0.0.1', port: 0 }, chargePoints: entries } },
        {
          name: 'Tls',
          ocpp: {
            centralSystem: {
              host: '127.0.0.1',
              port: 0,
              connection: { type: 'TLS', cert: certs.serverRsa.certFile, key: certs.serverRsa.keyFile },
            },
            chargePoints: [{ idRegexpPattern: '.*' }],
          },
        },
      ],
    });
    ws = h.urls.Plain ?? '';
    wss = (h.urls.Tls ?? '').replace(/^ws:/, 'wss:');
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('chargePoints[].host / port filter by remote address at the handshake (404 and a warning otherwise)', async () => {
    expect(await handshakeStatus(`${ws}/local/CP_1`, ['ocpp1.6'])).toBe(101);
    expect(await handshakeStatus(`${ws}/lan/CP_1`, ['ocpp1.6'])).toBe(404);
    expect(await handshakeStatus(`${ws}/port/CP_1`, ['ocpp1.6'])).toBe(404);
    expect(await handshakeStatus(`${ws}/exact/CP_1`, ['ocpp1.6'])).toBe(404);
    const warning = await h.gateway.waitForLog(
      (l) => l.msg.startsWith('charge point refused: its address') && l.chargePointId === 'lan/CP_1',
    );
    expect(warning).toMatchObject({
      level: 40,
      remoteAddress: expect.stringMatching(/127\.0\.0\.1$/),
      reason:
        'remote address 127.0.0.1 does not match chargePoints[].host "10\\\\.\\\\d+\\\\.\\\\d+\\\\.\\\\d+"',
    });
    const port = h.gateway.logs.find((l) => l.chargePointId === 'port/CP_1' && typeof l.reason === 'string');
    expect(port?.reason).toMatch(/^remote port \d+ does not match chargePoints\[\]\.port "1"$/);
  });

  it('"type": "TLS" serves wss://', async () => {
    expect(await handshakeStatus(`${wss}/CP_TLS`, ['ocpp1.6'], {}, { ca })).toBe(101);
  });

  it('an extension class and a placeholder token are warned about at start, in words', () => {
    const warnings = h.gateway.logs.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toContainEqual(
      expect.stringMatching(
        /chargePoints\[0\]\.extension "CustomOcppUplinkConverter" is a Python converter class, which cannot run/,
      ),
    );
    expect(warnings).toContainEqual(
      expect.stringContaining('the ThingsBoard access token is the placeholder "YOUR_GATEWAY_ACCESS_TOKEN"'),
    );
  });
});

describe('words at stop and at start', () => {
  const dirs: TempDir[] = [];
  afterAll(() => dirs.forEach((d) => d.remove()));
  function files(ocpp: unknown, gateway: Record<string, unknown> = {}): string {
    const dir = new TempDir();
    dirs.push(dir);
    dir.write('ocpp.json', ocpp);
    return dir.write('tb_gateway.json', {
      // Nothing listens on port 1: ThingsBoard stays unreachable.
      thingsboard: {
        host: '127.0.0.1',
        port: 1,
        security: { accessToken: 'T0k3n' },
        shutdownGracePeriodSeconds: 0.2,
      },
      connectors: [{ type: 'ocpp', name: 'A', configuration: 'ocpp.json' }],
      ...gateway,
    });
  }
  const ocpp = {
    centralSystem: { host: '127.0.0.1', port: 0 },
    chargePoints: [
      {
        idRegexpPattern: 'CP_.*',
        timeseries: [
          { messageTypeFilter: 'MeterValues', key: 'e', value: '${meter_value[0].sampled_value[0].value}' },
        ],
      },
    ],
  };

  it('memory storage says undelivered records are lost, not kept for the next start', async () => {
    const gw = GatewayProcess.run(files(ocpp), { LOG_LEVEL: 'info' });
    try {
      await gw.started();
      const port = await listeningPort(gw, 'A');
      const cp = await connectChargePoint({ url: `ws://127.0.0.1:${port}`, identity: 'CP_1' });
      await cp.call('MeterValues', aMeterValues());
      await cp.close({ code: 1000 });
      gw.kill('SIGTERM');
      expect((await gw.exited).code).toBe(0);
      const line = gw.logs.find((l) => l.msg.startsWith('grace period over'));
      expect(line?.msg).toContain('are lost (memory storage keeps nothing across a restart');
      expect(gw.stdout).not.toContain('stay in the outbox for the next start');
    } finally {
      await gw.stop();
    }
  });

  it('statusServer.enabled: false serves no HTTP at all', async () => {
    const port = await freePort();
    const gw = GatewayProcess.run(files(ocpp, { statusServer: { enabled: false } }), {
      LOG_LEVEL: 'info',
      TB_GW_STATUS_PORT: String(port),
    });
    try {
      await gw.started();
      expect(gw.logs.filter((l) => l.msg.startsWith('status server'))).toEqual([]);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await gw.stop();
    }
  });

  it('a taken status port costs the status page, not the gateway', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as AddressInfo).port;
    const gw = GatewayProcess.run(files(ocpp), { LOG_LEVEL: 'info', TB_GW_STATUS_PORT: String(taken) });
    try {
      await gw.started();
      const line = await gw.waitForLog((l) => l.msg.startsWith('status server not started'));
      expect(line).toMatchObject({ level: 50, port: taken, err: expect.stringContaining('EADDRINUSE') });
      expect(await handshakeStatus(`ws://127.0.0.1:${await listeningPort(gw, 'A')}/CP_1`, ['ocpp1.6'])).toBe(
        101,
      );
    } finally {
      await gw.stop();
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('LOG_LEVEL=warning is warn; an unknown level stops start-up with exit 2, not a crash', async () => {
    const file = files(ocpp);
    const bad = await cli(['--config', file], { LOG_LEVEL: 'verbose' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'configuration error:\n  env LOG_LEVEL: expected one of trace, debug, info, warn, warning, error, fatal, silent, got "verbose"\n',
    );
    const statusPort = await freePort();
    const gw = GatewayProcess.run(files(ocpp, { statusServer: { port: statusPort } }), {
      LOG_LEVEL: 'warning',
      TB_GW_STATUS_PORT: String(statusPort),
    });
    try {
      await gw.waitForLog((l) => l.msg.startsWith('cannot reach ThingsBoard'), 10_000);
      expect((await fetch(`http://127.0.0.1:${statusPort}/healthz`)).status).toBe(200);
      expect(gw.logs.filter((l) => l.level < 40)).toEqual([]);
    } finally {
      gw.kill('SIGTERM');
      expect((await gw.exited).code).toBe(0);
    }
  });

  it.runIf(existsSync('/usr/bin/script'))(
    'logs human-readable lines on a terminal, JSON lines otherwise',
    async () => {
      const file = files(ocpp);
      // script(1) gives the gateway a pseudo-terminal as stdout.
      const tty = spawn(
        'script',
        [
          '-qec',
          `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} --config ${JSON.stringify(file)}`,
          '/dev/null',
        ],
        {
          env: { ...process.env, LOG_LEVEL: 'info', TB_GW_STATUS_PORT: '0', NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let stdout = '';
      tty.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      const exited = new Promise<void>((r) => tty.once('exit', () => r()));
      try {
        const deadline = Date.now() + 10_000;
        while (!stdout.includes('gateway started') && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        expect(stdout).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*: gateway started\r?$/m);
        expect(stdout).not.toMatch(/^\{"level"/m);
      } finally {
        for (const pid of gatewayPids(file)) process.kill(pid, 'SIGTERM');
        await exited;
      }
      const piped = GatewayProcess.run(file, { LOG_LEVEL: 'info' });
      await piped.started();
      await piped.stop();
      expect(piped.stdout.split('\n')[0]).toMatch(/^\{"level":30,/);
    },
  );

  it('check-config: a misspelt action is a problem with the closest action; a placeholder token a warning', async () => {
    const misspelt = {
      chargePoints: [
        {
          idRegexpPattern: 'CP_1',
          attributes: [{ messageTypeFilter: 'StatusNotifcation', key: 's', value: '${status}' }],
        },
      ],
    };
    const r = await cli(['check-config', '--config', files(misspelt)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '$.chargePoints[0].attributes[0].messageTypeFilter: "StatusNotifcation" is not an OCPP action — did you mean "StatusNotification"?',
    );
    const placeholder = await cli(['check-config', '--config', files(ocpp)], {
      TB_GW_ACCESS_TOKEN: 'PUT_YOUR_GW_ACCESS_TOKEN_HERE',
    });
    expect(placeholder.code).toBe(0);
    expect(placeholder.stdout).toContain(
      'warn: the ThingsBoard access token is the placeholder "PUT_YOUR_GW_ACCESS_TOKEN_HERE"',
    );
  });
});
