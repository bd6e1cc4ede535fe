/**
 * Remote configuration and remote logs from ThingsBoard's gateway page, end to end: the built CLI
 * with `remoteConfiguration: true` against the stand-in, which saves shared attributes of the
 * gateway device the way the gateway page does and records what the gateway reports.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  aBootNotification,
  aMeterValues,
  connectChargePoint,
  handshakeStatus,
  type RpcClient,
} from '../helpers/ocpp.js';
import { StandInHarness, TOKEN } from '../helpers/standin-harness.js';

const CP_TOKEN = 'Bearer cp-secret-token-1';

function ocpp(key = 'energy'): Record<string, unknown> {
  return {
    centralSystem: {
      host: '127.0.0.1',
      port: 0,
      security: [{ type: 'token', tokens: [CP_TOKEN] }],
    },
    chargePoints: [
      {
        idRegexpPattern: 'CP_[0-9]+',
        deviceNameExpression: 'EV ${ChargePointId}',
        deviceTypeExpression: 'charger',
        timeseries: [
          { messageTypeFilter: 'MeterValues', key, value: '${meter_value[0].sampled_value[0].value}' },
        ],
      },
    ],
  };
}

type Json = Record<string, unknown>;

describe('remote configuration from ThingsBoard', () => {
  let h: StandInHarness | undefined;
  const cps: RpcClient[] = [];
  afterEach(async () => {
    await Promise.all(cps.splice(0).map((cp) => cp.close({ force: true }).catch(() => undefined)));
    await h?.stop();
    h = undefined;
  });

  async function start(
    extra: Partial<Parameters<typeof StandInHarness.start>[0]> = {},
  ): Promise<StandInHarness> {
    h = await StandInHarness.start({
      thingsboard: { remoteConfiguration: true },
      connectors: [{ name: 'OCPP', file: 'ocpp.json', ocpp: ocpp() }],
      ...extra,
    });
    await h.tb.waitFor(() => h?.tb.clientAttributes.has('OCPP'), 10_000, 'connector attribute');
    return h;
  }

  async function chargePoint(
    id: string,
    url = h?.urls.OCPP ?? '',
  ): Promise<{ cp: RpcClient; closed: () => boolean }> {
    const cp = await connectChargePoint({ url, identity: id, headers: { Authorization: CP_TOKEN } });
    cps.push(cp);
    let closed = false;
    (cp as unknown as { on(e: string, f: () => void): void }).on('close', () => (closed = true));
    return { cp, closed: () => closed };
  }

  /** What the gateway page saves: the published connector attribute, changed, with a new ts. */
  function edited(change: (configurationJson: Json) => void): Json {
    const published = structuredClone(h?.tb.clientAttributes.get('OCPP')) as Json;
    change(published.configurationJson as Json);
    return { ...published, ts: Date.now() };
  }

  function status(key: string): Json | undefined {
    const all = h?.tb.clientAttributes.get('remoteConfigurationStatus') as Record<string, Json> | undefined;
    return all?.[key];
  }

  it('publishes the configuration as the Python gateway does, without one secret', async () => {
    const { tb } = await start();
    await tb.waitFor(() => tb.clientAttributes.has('general_configuration'), 10_000, 'general configuration');
    const attrs = Object.fromEntries(tb.clientAttributes);
    expect(attrs).toMatchObject({
      general_configuration: {
        host: '127.0.0.1',
        remoteConfiguration: true,
        security: { accessToken: '<secret:1>' },
      },
      storage_configuration: { ts: expect.any(Number) },
      active_connectors: ['OCPP'],
      Version: expect.any(String),
      OCPP: {
        name: 'OCPP',
        type: 'ocpp',
        configuration: 'ocpp.json',
        logLevel: 'INFO',
        enableRemoteLogging: false,
        ts: expect.any(Number),
        configurationJson: { centralSystem: { security: [{ type: 'token', tokens: ['<secret:1>'] }] } },
      },
    });
    const everything = JSON.stringify([...tb.reports.map((r) => r.json)]);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain('cp-secret-token');
  });

  it('applies a mapping change while the charge points stay connected, keeping their secrets', async () => {
    await start();
    const tb = h!.tb;
    const { cp, closed } = await chargePoint('CP_1');
    await cp.call('BootNotification', aBootNotification());
    await cp.call('MeterValues', aMeterValues());
    await tb.waitFor(() => tb.values('EV CP_1', 'energy').length === 1, 10_000, 'old mapping');

    tb.setShared({
      OCPP: edited((json) => {
        const [entry] = json.chargePoints as Json[];
        (entry as Json).timeseries = [
          { messageTypeFilter: 'MeterValues', key: 'kwh', value: '${meter_value[0].sampled_value[0].value}' },
        ];
      }),
    });
    await tb.waitFor(() => status('OCPP')?.result === 'applied', 10_000, 'applied');
    await cp.call('MeterValues', aMeterValues());
    await tb.waitFor(() => tb.values('EV CP_1', 'kwh').length === 1, 10_000, 'new mapping');
    expect(closed()).toBe(false);
    expect(tb.usernames).toHaveLength(1);

    // Written to the file with the real token back in place of its placeholder, a backup kept.
    const written = JSON.parse(readFileSync(join(h!.dir.path, 'ocpp.json'), 'utf8')) as Json;
    expect(JSON.stringify(written)).toContain(CP_TOKEN);
    expect(JSON.stringify(written)).toContain('"kwh"');
    expect(
      readdirSync(join(h!.dir.path, 'backup')).some((f) => /^ocpp\.backup\.\d+(-\d+)?\.json$/.test(f)),
    ).toBe(true);
    // And echoed back, redacted, so the gateway page shows it in sync.
    const echoed = tb.clientAttributes.get('OCPP') as Json;
    expect(JSON.stringify(echoed)).toContain('"kwh"');
    expect(JSON.stringify(echoed)).not.toContain('cp-secret-token');
    expect(tb.violations).toEqual([]);
  });

  it('refuses an invalid configuration, reports why, and keeps the running one', async () => {
    await start();
    const tb = h!.tb;
    const { cp, closed } = await chargePoint('CP_2');
    await cp.call('BootNotification', aBootNotification());
    const before = readFileSync(join(h!.dir.path, 'ocpp.json'), 'utf8');
    tb.setShared({
      OCPP: edited((json) => {
        const [entry] = json.chargePoints as Json[];
        (entry as Json).idRegexpPattern = 'CP_(';
        (entry as Json).timeseries = [{ messageTypeFilter: 'MeterValues', key: 'x', value: '${unclosed' }];
      }),
    });
    await tb.waitFor(() => status('OCPP')?.result === 'refused', 10_000, 'refused');
    const problems = status('OCPP')?.problems as string[];
    expect(problems.join('\n')).toContain('$.chargePoints[0].idRegexpPattern: invalid regular expression');
    expect(problems.join('\n')).toContain('$.chargePoints[0].timeseries[0].value: invalid template');
    expect(readFileSync(join(h!.dir.path, 'ocpp.json'), 'utf8')).toBe(before);
    // Also in the log, counted as an error of the connector (the gateway page's "Errors" column).
    await h!.gateway.waitForLog((l) => l.level === 50 && l.connector === 'OCPP' && /refused/.test(l.msg));
    await tb.waitFor(() => (tb.deviceTelemetry.find((t) => t.key === 'OCPP_ERRORS_COUNT')?.value ?? 0) !== 0);
    // A placeholder moved where no secret belongs would come back in clear in the echo: refused.
    tb.setShared({
      OCPP: edited((json) => {
        const [entry] = json.chargePoints as Json[];
        (entry as Json).deviceTypeExpression = '<secret:1>';
      }),
    });
    await tb.waitFor(() => /where no secret/.test(String(status('OCPP')?.message)), 10_000, 'misplaced');
    expect(JSON.stringify(tb.reports.map((r) => r.json))).not.toContain('cp-secret-token');
    expect(readFileSync(join(h!.dir.path, 'ocpp.json'), 'utf8')).toBe(before);
    // The old mapping still runs, on the same connection.
    await cp.call('MeterValues', aMeterValues());
    await tb.waitFor(() => tb.values('EV CP_2', 'energy').length === 1, 10_000, 'data with the old mapping');
    expect(closed()).toBe(false);
  });

  it('reports a valid change that cannot be written as failed, and the file stays as it was', async () => {
    await start();
    const tb = h!.tb;
    // A file where the backup folder goes: the backup, and so the write, fail (as on a read-only
    // configuration folder; root, who runs these tests, ignores file modes).
    writeFileSync(join(h!.dir.path, 'backup'), 'not a folder');
    const before = readFileSync(join(h!.dir.path, 'ocpp.json'), 'utf8');
    tb.setShared({
      OCPP: edited((json) => {
        const [entry] = json.chargePoints as Json[];
        (entry as Json).deviceTypeExpression = 'wallbox';
      }),
    });
    await tb.waitFor(() => status('OCPP')?.result === 'failed', 10_000, 'failed');
    expect(String(status('OCPP')?.message)).toMatch(/^could not be applied: .*backup/);
    expect(readFileSync(join(h!.dir.path, 'ocpp.json'), 'utf8')).toBe(before);
    await h!.gateway.waitForLog((l) => l.level === 50 && /remote configuration failed/.test(l.msg));
  });

  it('restarts only that connector’s listener when centralSystem changes', async () => {
    await start();
    const tb = h!.tb;
    const { cp, closed } = await chargePoint('CP_3');
    await cp.call('BootNotification', aBootNotification());
    tb.setShared({ OCPP: edited((json) => ((json.centralSystem as Json).heartbeatInterval = 120)) });
    await tb.waitFor(() => status('OCPP')?.result === 'applied', 10_000, 'applied');
    expect(String(status('OCPP')?.message)).toContain('listener restarted');
    await tb.waitFor(() => closed(), 10_000, 'the old listener closed its connections');
    const listeningLines = () =>
      h!.gateway.logs.filter((l) => l.msg === 'central system listening' && l.connector === 'OCPP');
    const listening = await tb.waitFor(
      () => listeningLines().length === 2 && listeningLines(),
      10_000,
      'new listener',
    );
    const url = String(listening[1]?.url).replace(/\/$/, '');
    const again = await chargePoint('CP_3', url);
    const boot = (await again.cp.call('BootNotification', aBootNotification())) as Json;
    expect(boot.interval).toBe(120);
  });

  it('a new centralSystem.security applies from the restarted listener on (the admission follows it)', async () => {
    await start();
    const tb = h!.tb;
    const NEW_TOKEN = 'Bearer cp-secret-token-2';
    tb.setShared({
      OCPP: edited(
        (json) => ((json.centralSystem as Json).security = [{ type: 'token', tokens: [NEW_TOKEN] }]),
      ),
    });
    await tb.waitFor(() => status('OCPP')?.result === 'applied', 10_000, 'applied');
    const listeningLines = () =>
      h!.gateway.logs.filter((l) => l.msg === 'central system listening' && l.connector === 'OCPP');
    const listening = await tb.waitFor(
      () => listeningLines().length === 2 && listeningLines(),
      10_000,
      'new listener',
    );
    const url = String(listening[1]?.url).replace(/\/$/, '');
    expect([
      await handshakeStatus(`${url}/CP_5`, ['ocpp1.6'], { authorization: CP_TOKEN }),
      await handshakeStatus(`${url}/CP_5`, ['ocpp1.6'], { authorization: NEW_TOKEN }),
    ]).toEqual([401, 101]);
  });

  it('adds and removes OCPP connectors with active_connectors', async () => {
    await start();
    const tb = h!.tb;
    const second = ocpp('power');
    tb.setShared({
      'OCPP 2': {
        name: 'OCPP 2',
        type: 'ocpp',
        configuration: 'second.json',
        configurationJson: second,
        logLevel: 'INFO',
        ts: Date.now(),
      },
      active_connectors: ['OCPP', 'OCPP 2'],
    });
    const line = await h!.gateway.waitForLog(
      (l) => l.msg === 'central system listening' && l.connector === 'OCPP 2',
    );
    const { cp } = await chargePoint('CP_9', String(line.url).replace(/\/$/, ''));
    await cp.call('BootNotification', aBootNotification());
    await cp.call('MeterValues', aMeterValues());
    await tb.waitFor(
      () => tb.values('EV CP_9', 'power').length === 1,
      10_000,
      'data through the new connector',
    );
    const gatewayFile = (): Json => JSON.parse(readFileSync(h!.configFile, 'utf8')) as Json;
    expect(gatewayFile().connectors).toContainEqual({
      type: 'ocpp',
      name: 'OCPP 2',
      configuration: 'second.json',
    });
    expect(existsSync(join(h!.dir.path, 'second.json'))).toBe(true);

    const published = structuredClone(tb.clientAttributes.get('OCPP 2')) as Json;
    tb.setShared({ active_connectors: ['OCPP'] });
    await tb.waitFor(() => /stopped and removed/.test(String(status('OCPP 2')?.message)), 10_000, 'removed');
    expect((gatewayFile().connectors as Json[]).map((c) => c.name)).toEqual(['OCPP']);
    expect(await tb.rpcToGateway('gateway_devices', {})).toEqual({ code: 200, resp: {} });

    // Enabled again from the page: the attribute it kept, its token a placeholder, comes back
    // with the token of the file the connector left behind.
    expect(JSON.stringify(published)).not.toContain(CP_TOKEN);
    tb.setShared({ 'OCPP 2': { ...published, ts: Date.now() }, active_connectors: ['OCPP', 'OCPP 2'] });
    await tb.waitFor(() => /created/.test(String(status('OCPP 2')?.message)), 10_000, 'enabled again');
    expect(readFileSync(join(h!.dir.path, 'second.json'), 'utf8')).toContain(CP_TOKEN);

    // A new connector may not take a file the gateway uses: tb_gateway.json stays as it is.
    const before = readFileSync(h!.configFile, 'utf8');
    tb.setShared({
      'OCPP 3': { name: 'OCPP 3', type: 'ocpp', configuration: 'tb_gateway.json', configurationJson: ocpp() },
    });
    await tb.waitFor(() => status('OCPP 3')?.result === 'refused', 10_000, 'refused');
    expect(String(status('OCPP 3')?.message)).toContain('a file the gateway already uses');
    expect(readFileSync(h!.configFile, 'utf8')).toBe(before);
  });

  it('applies general_configuration live where it can, and says what waits for the next start', async () => {
    await start();
    const tb = h!.tb;
    await tb.waitFor(() => tb.clientAttributes.has('general_configuration'), 10_000, 'general configuration');
    const published = structuredClone(tb.clientAttributes.get('general_configuration')) as Json;
    tb.setShared({
      general_configuration: {
        ...published,
        host: 'thingsboard.example',
        statistics: { enable: true, statsSendPeriodInSeconds: 3600 },
        deviceDpRateLimits: '10:1',
        remoteShell: true,
        ts: Date.now(),
      },
    });
    await tb.waitFor(
      () => status('general_configuration')?.result === 'applies at next start',
      10_000,
      'status',
    );
    expect(String(status('general_configuration')?.message)).toContain(
      'thingsboard.host apply at next start',
    );
    expect(String(status('general_configuration')?.message)).toMatch(
      /statistics, deviceDpRateLimits applied now, thingsboard.remoteShell not used by this gateway \(kept in the file\)$/,
    );
    // Statistics started at once, and show the local limit in force (at 80 %).
    const stats = await tb.waitFor(
      () => tb.deviceTelemetry.find((t) => t.key === 'ocppStats'),
      10_000,
      'statistics',
    );
    expect(stats.value).toMatchObject({ rateLimits: { devices: { telemetryDataPoints: '8:1' } } });
    const file = JSON.parse(readFileSync(h!.configFile, 'utf8')) as { thingsboard: Json };
    expect(file.thingsboard.host).toBe('thingsboard.example');
    // The placeholder was not written over the token.
    expect(file.thingsboard.security).toEqual({ accessToken: TOKEN });
  });

  it('a "__proto__" key from ThingsBoard stays an ordinary key: nothing read through it, the running configuration unharmed', async () => {
    await start();
    const tb = h!.tb;
    await tb.waitFor(() => tb.clientAttributes.has('general_configuration'), 10_000, 'general configuration');
    const published = structuredClone(tb.clientAttributes.get('general_configuration')) as Json;
    const before = readFileSync(h!.configFile, 'utf8');
    // JSON.parse makes "__proto__" an own key, as ThingsBoard's JSON does; a plain object spread or
    // assignment of it would replace the prototype and let its keys be read as configuration.
    const hostile = JSON.parse(
      JSON.stringify({ ...published, ts: Date.now() }).replace(
        /^\{/,
        '{"__proto__":{"host":"evil.example","statistics":{"enable":true,"statsSendPeriodInSeconds":10}},',
      ),
    ) as Json;
    expect(Object.hasOwn(hostile, '__proto__')).toBe(true);
    tb.setShared({ general_configuration: hostile });
    await tb.waitFor(() => status('general_configuration') !== undefined, 10_000, 'status');
    // Nothing it holds was read: an unknown key, said to have no effect, not to apply later.
    expect(status('general_configuration')).toMatchObject({
      result: 'ignored',
      message: expect.stringMatching(/thingsboard\.__proto__ not used by this gateway \(kept in the file\)$/),
    });
    const file = JSON.parse(readFileSync(h!.configFile, 'utf8')) as { thingsboard: Json };
    const previous = JSON.parse(before) as { thingsboard: Json };
    expect(file.thingsboard.host).toBe(previous.thingsboard.host);
    expect(file.thingsboard.statistics).toBeUndefined();
    expect(Object.getPrototypeOf(file.thingsboard)).toBe(Object.prototype);
    // No statistics started from the hostile object, and the gateway still answers.
    const { cp } = await chargePoint('CP_42');
    await expect(cp.call('Heartbeat', {})).resolves.toHaveProperty('currentTime');
    expect(tb.deviceTelemetry.some((t) => t.key === 'ocppStats')).toBe(false);
  });

  it('ignores a shared attribute older than the file at start', async () => {
    const stale = {
      OCPP: {
        name: 'OCPP',
        type: 'ocpp',
        configuration: 'ocpp.json',
        configurationJson: ocpp('stale'),
        ts: 1,
      },
    };
    await start({ before: (tb) => tb.presetShared(stale) });
    await h!.gateway.waitForLog(
      (l) =>
        l.msg === 'shared attribute older than its file: ignored' ||
        l.msg === 'connector configuration older than its file: ignored',
    );
    expect(readFileSync(join(h!.dir.path, 'ocpp.json'), 'utf8')).not.toContain('stale');
  });
});

describe('remote logs', () => {
  let h: StandInHarness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('RemoteLoggingLevel sends log lines as the Python gateway does, and a connector’s own with enableRemoteLogging', async () => {
    const withLogs = { ...ocpp(), enableRemoteLogging: true, logLevel: 'INFO' };
    h = await StandInHarness.start({ connectors: [{ name: 'OCPP', ocpp: withLogs }] });
    const tb = h.tb;
    tb.setShared({ RemoteLoggingLevel: 'INFO' });
    await tb.waitFor(() => tb.clientAttributes.get('RemoteLoggingLevel') === 'INFO', 10_000, 'echo');
    const cp = await connectChargePoint({
      url: h.urls.OCPP ?? '',
      identity: 'CP_5',
      headers: { Authorization: CP_TOKEN },
    });
    await cp.call('BootNotification', aBootNotification());
    await cp.close({ force: true });
    await tb.waitFor(
      () =>
        tb.deviceTelemetry.some(
          (t) => t.key === 'OCPP_LOGS' && String(t.value).includes('charge point connected'),
        ),
      10_000,
      'connector log line',
    );
    await tb.waitFor(() => tb.deviceTelemetry.some((t) => t.key === 'LOGS'), 10_000, 'service log line');
    const line = String(tb.deviceTelemetry.find((t) => t.key === 'OCPP_LOGS')?.value);
    // The gateway page's log widget: the level between bars, the message from the first "[".
    expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - \|INFO\|<main> \[OCPP\] - /);
    const all = JSON.stringify(tb.deviceTelemetry);
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain('cp-secret-token');
    expect(tb.violations).toEqual([]);
  });
});
