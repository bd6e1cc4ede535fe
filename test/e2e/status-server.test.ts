/**
 * The operator's HTTP surface of the built gateway: health and readiness, the JSON API, the frame
 * capture, /metrics, the frame trace, the event stream and the page — against live charge points
 * (ocpp-rpc, strict) and a real broker, with basic auth on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import {
  aBootNotification,
  aMeterValues,
  connectChargePoint,
  handshakeStatus,
  RawChargePoint,
  type RpcClient,
} from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';
import { untilValue } from '../helpers/until.js';

const AUTH = { username: 'ops', password: 'st4tus-pass' };
const CREDENTIALS = 'Basic ' + Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64');

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

describe('status server', () => {
  let h: Harness;
  let base: string;
  let ws: string;
  const clients: RpcClient[] = [];
  const raws: RawChargePoint[] = [];

  /** `null`: no credentials. */
  async function get(path: string, credentials: string | null = CREDENTIALS): Promise<Answer> {
    const res = await fetch(new URL(path, base), {
      headers: credentials ? { authorization: credentials } : {},
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }
  async function json(path: string): Promise<Record<string, unknown>> {
    const a = await get(path);
    expect(a.status, `${path}: ${a.text}`).toBe(200);
    return JSON.parse(a.text) as Record<string, unknown>;
  }
  async function metrics(): Promise<string> {
    return (await get('metrics')).text;
  }
  /** A sample's value in the exposition text; undefined when absent. */
  function sample(text: string, series: string): number | undefined {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }

  beforeAll(async () => {
    h = await Harness.start({
      connectors: [
        {
          name: 'Site',
          ocpp: {
            centralSystem: { host: '127.0.0.1', port: 0 },
            chargePoints: [
              {
                idRegexpPattern: 'site/.*',
                deviceNameExpression: '${ChargePointId}',
                deviceTypeExpression: 'wallbox',
                timeseries: [
                  {
                    messageTypeFilter: 'MeterValues',
                    key: 'energy',
                    value: '${meter_value[0].sampled_value[0].value}',
                  },
                ],
              },
            ],
          },
        },
      ],
      statusServer: AUTH,
      // At debug level every connection's frames are kept; at info only those someone asks for.
      env: { LOG_LEVEL: 'info' },
    });
    base = await h.statusUrl();
    ws = h.urls.Site ?? '';
    const cp16 = await connectChargePoint({ url: `${ws}/site`, identity: 'CP_16' });
    clients.push(cp16);
    await cp16.call('BootNotification', aBootNotification());
    await cp16.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
    await cp16.call('MeterValues', aMeterValues());
    const cp201 = await connectChargePoint({
      url: `${ws}/site`,
      identity: 'CP_201',
      protocols: ['ocpp2.0.1'],
    });
    clients.push(cp201);
    await cp201.call('BootNotification', aBootNotification2());
    await cp201.call('StatusNotification', {
      timestamp: '2026-11-30T10:00:00.000Z',
      connectorStatus: 'Occupied',
      evseId: 2,
      connectorId: 1,
    });
  });

  afterAll(async () => {
    for (const c of clients) await c.close({ code: 1000 }).catch(() => undefined);
    for (const r of raws) await r.shut();
    await h?.stop();
  });

  it('answers /healthz and /readyz without credentials, and asks for them everywhere else', async () => {
    expect(await get('healthz', null)).toMatchObject({ status: 200, text: '{"status":"ok"}' });
    const ready = await get('readyz', null);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({
      ready: true,
      checks: { listening: true, storageWritable: true, thingsboardConnected: true, stopping: false },
    });
    for (const path of ['', 'api/status', 'metrics', 'api/chargepoints']) {
      const refused = await get(path, null);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
    expect((await get('api/status', 'Basic ' + Buffer.from('ops:wrong').toString('base64'))).status).toBe(
      401,
    );
    expect((await get('api/status')).status).toBe(200);
  });

  it('lists live charge points with device, version, address, last message and connector statuses', async () => {
    const list = (await json('api/chargepoints')) as {
      total: number;
      chargePoints: Record<string, unknown>[];
    };
    expect(list.total).toBe(2);
    const byId = new Map(list.chargePoints.map((c) => [c.id, c]));
    expect(byId.get('site/CP_16')).toMatchObject({
      connector: 'Site',
      device: { name: 'site/CP_16', type: 'wallbox' },
      ocppVersion: 'ocpp1.6',
      remoteAddress: '127.0.0.1',
      lastMessage: { action: 'MeterValues' },
      connectors: [{ connectorId: 1, status: 'Charging', errorCode: 'NoError' }],
      transactions: [],
    });
    expect(byId.get('site/CP_201')).toMatchObject({
      ocppVersion: 'ocpp2.0.1',
      connectors: [{ evseId: 2, connectorId: 1, status: 'Occupied', at: '2026-11-30T10:00:00.000Z' }],
    });
    // Either spelling of an id with slashes reaches it; an id is only ever a Map key.
    expect(await json('api/chargepoints/site%2FCP_16')).toMatchObject({ id: 'site/CP_16' });
    expect(await json('api/chargepoints/site/CP_201')).toMatchObject({ id: 'site/CP_201' });
    for (const path of [
      'api/chargepoints/__proto__',
      'api/chargepoints/constructor',
      'api/chargepoints/%E0%A4%A',
    ]) {
      const missing = await get(path);
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.text)).toEqual({ error: 'no live charge point with this id' });
    }
  });

  it('captures the frames of a charge point once asked for, with credentials masked', async () => {
    const before = (await json('api/chargepoints/site%2FCP_16')) as { recentFrames: unknown[] };
    expect(before.recentFrames).toEqual([]);
    const cp16 = clients[0] as RpcClient;
    await cp16.call('Authorize', { idTag: 'SECRETCARD123' });
    const after = (await json('api/chargepoints/site%2FCP_16')) as {
      recentFrames: { direction: string; frame: string }[];
    };
    expect(
      after.recentFrames.map((f) => [f.direction, JSON.parse(f.frame)[0], JSON.parse(f.frame)[2]]),
    ).toEqual([
      ['in', 2, 'Authorize'],
      ['out', 3, { idTagInfo: { status: 'Accepted' } }],
    ]);
    expect(after.recentFrames[0]?.frame).toContain('***123');
    expect(JSON.stringify(after)).not.toContain('SECRETCARD123');
    expect(h.gateway.stdout).not.toContain('SECRETCARD123');
    expect(h.gateway.stdout).not.toContain(AUTH.password);
  });

  it('logs a CALLERROR it sends with the action and reason, at info', async () => {
    const raw = await RawChargePoint.open(`${ws}/site/RAW_1`, ['ocpp1.6']);
    raws.push(raw);
    raw.send(JSON.stringify([2, 'bad-1', 'Heartbeat', { unexpected: true }]));
    expect((await raw.answerTo('bad-1'))[0]).toBe(4);
    const line = await h.gateway.waitForLog((l) => l.msg === 'CALLERROR sent to charge point');
    expect(line).toMatchObject({
      level: 30,
      chargePointId: 'site/RAW_1',
      ocppVersion: 'ocpp1.6',
      action: 'Heartbeat',
      errorCode: 'PropertyConstraintViolation',
      reason: expect.stringContaining('unknown property "unexpected"'),
    });
    // A disconnect carries its close code, reason and OCPP version.
    raw.ws.close(4001, 'going away for a test');
    const closed = await h.gateway.waitForLog(
      (l) => l.msg === 'charge point disconnected' && l.chargePointId === 'site/RAW_1',
    );
    expect(closed).toMatchObject({
      level: 30,
      ocppVersion: 'ocpp1.6',
      closeCode: 4001,
      closeReason: 'going away for a test',
    });
  });

  it('serves /metrics in the Prometheus text format from the same counters', async () => {
    expect(await handshakeStatus(`${ws}/other/CP_X`, ['ocpp1.6'])).toBe(404);
    expect(await h.tb.rpc('site/CP_16', 1, 'get', { key: 'HeartbeatInterval' })).toHaveProperty('error');
    expect(await h.tb.rpc('nobody', 2, 'Reset', { type: 'Soft' })).toHaveProperty('error');
    await h.tb.waitFor(() => h.tb.fromGateway('v1/gateway/telemetry').length > 0, 5000, 'telemetry');
    const text = await untilValue(async () => {
      const t = await metrics();
      return (sample(t, 'ocpp_gateway_publish_latency_seconds_count') ?? 0) > 0 && t;
    }, 'an acknowledged publish in the latency histogram');
    const series: [string, number][] = [
      // CP_16 (RAW_1 disconnected above).
      ['ocpp_gateway_connections{connector="Site",version="ocpp1.6"}', 1],
      ['ocpp_gateway_connections{connector="Site",version="ocpp2.0.1"}', 1],
      ['ocpp_gateway_handshakes_total{connector="Site",result="unknown_id"}', 1],
      [
        'ocpp_gateway_messages_total{connector="Site",version="ocpp1.6",direction="in",type="CALL",action="BootNotification"}',
        1,
      ],
      [
        'ocpp_gateway_messages_total{connector="Site",version="ocpp2.0.1",direction="out",type="CALLRESULT",action="StatusNotification"}',
        1,
      ],
      [
        'ocpp_gateway_call_errors_total{connector="Site",version="ocpp1.6",direction="out",code="PropertyConstraintViolation"}',
        1,
      ],
      ['ocpp_gateway_rpc_total{connector="",outcome="unrouted"}', 1],
      ['ocpp_gateway_protocol_events_total{connector="Site",event="call_errors_out"}', 1],
      ['ocpp_gateway_datapoints_skipped_total{connector="Site",reason="unresolved"}', 0],
      ['ocpp_gateway_datapoints_mapped_total{connector="Site"}', 1],
      ['ocpp_gateway_thingsboard_connected', 1],
    ];
    for (const [name, value] of series) expect(sample(text, name), name).toBe(value);
    // The charge point never answers GetConfiguration (ocpp-rpc has no handler): a CALLERROR outcome,
    // logged at info with the action and the reason.
    expect(sample(text, 'ocpp_gateway_rpc_total{connector="Site",outcome="call_error"}')).toBe(1);
    expect(
      h.gateway.logs.find(
        (l) => l.msg === 'charge point answered with an error' && l.chargePointId === 'site/CP_16',
      ),
    ).toMatchObject({
      level: 30,
      ocppVersion: 'ocpp1.6',
      action: 'GetConfiguration',
      errorCode: 'NotImplemented',
    });
    expect(sample(text, 'ocpp_gateway_outbox_records')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^ocpp_gateway_publish_latency_seconds_bucket\{le="0.005"\} \d+$/m);
    expect(text).toMatch(/^ocpp_gateway_publish_latency_seconds_bucket\{le="\+Inf"\} \d+$/m);
    expect(text).toContain('# TYPE ocpp_gateway_messages_total counter');
    expect(text).toContain('# TYPE ocpp_gateway_publish_latency_seconds histogram');
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
  });

  it("logs a charge point's CALLERROR cut to 255 characters, a password it quotes masked", async () => {
    const raw = await RawChargePoint.open(`${ws}/site/RAW_2`, ['ocpp1.6']);
    raws.push(raw);
    const answered = h.tb.rpc('site/RAW_2', 77, 'Reset', { type: 'Soft' });
    const [, id] = await raw.nextCall();
    const description = `upload to ftp://user:s3cretpw@files.example/ failed ${'x'.repeat(100_000)}`;
    raw.send(JSON.stringify([4, id, 'InternalError', description, {}]));
    expect(await answered).toHaveProperty('error');
    const line = await h.gateway.waitForLog(
      (l) => l.msg === 'charge point answered with an error' && l.chargePointId === 'site/RAW_2',
    );
    expect(line).toMatchObject({ level: 30, action: 'Reset', errorCode: 'InternalError' });
    expect(String(line.reason)).toMatch(/^upload to ftp:\/\/user:\*\*\*@files\.example\/ failed x+$/);
    expect(String(line.reason).length).toBeLessThanOrEqual(255);
    expect(h.gateway.stdout).not.toContain('s3cretpw');
    await raw.shut();
  });

  it("logs a charge point's frames at info while an operator traces it (JSON requests only)", async () => {
    const form = await fetch(new URL('api/trace', base), {
      method: 'POST',
      headers: { authorization: CREDENTIALS, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'chargePointId=site/CP_201',
    });
    expect(form.status).toBe(415);
    const started = await fetch(new URL('api/trace', base), {
      method: 'POST',
      headers: { authorization: CREDENTIALS, 'content-type': 'application/json' },
      body: JSON.stringify({ chargePointId: 'site/CP_201', minutes: 5 }),
    });
    expect(started.status).toBe(200);
    expect(await started.json()).toMatchObject({
      chargePointId: 'site/CP_201',
      tracedUntil: expect.any(String),
    });
    await (clients[1] as RpcClient).call('Heartbeat', {});
    const traced = await h.gateway.waitForLog(
      (l) => l.msg === 'OCPP frame' && l.level === 30 && l.chargePointId === 'site/CP_201',
    );
    expect(traced).toMatchObject({ ocppVersion: 'ocpp2.0.1', direction: 'in', action: 'Heartbeat' });
    expect(await json('api/chargepoints/site%2FCP_201')).toMatchObject({ tracedUntil: expect.any(String) });
  });

  it('answers a trace request whose body is too large with 413, declared or streamed', async () => {
    const post = (body: string | ReadableStream<Uint8Array>, extra: Record<string, string> = {}) =>
      fetch(new URL('api/trace', base), {
        method: 'POST',
        headers: { authorization: CREDENTIALS, 'content-type': 'application/json', ...extra },
        body,
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit);
    const declared = await post(JSON.stringify({ chargePointId: 'x'.repeat(5000) }));
    expect({ status: declared.status, body: await declared.json() }).toEqual({
      status: 413,
      body: { error: 'body larger than 4096 bytes' },
    });
    // No Content-Length (chunked): counted as it arrives. The client is still sending when the
    // answer comes (a pause between chunks): the rest is read, not cut off under its writes.
    const chunks = ['{"chargePointId":"', 'y'.repeat(3000), 'y'.repeat(3000), 'y'.repeat(3000), '"}'];
    const streamed = await post(
      new ReadableStream({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      }),
    );
    expect({ status: streamed.status, body: await streamed.json() }).toEqual({
      status: 413,
      body: { error: 'body larger than 4096 bytes' },
    });
    // Within the bound the same request is judged on its content.
    expect((await post(JSON.stringify({ chargePointId: '' }))).status).toBe(400);
  });

  it('traces at most 256 charge points at once: one more is refused until one stops', async () => {
    const trace = (chargePointId: string, minutes = 5) =>
      fetch(new URL('api/trace', base), {
        method: 'POST',
        headers: { authorization: CREDENTIALS, 'content-type': 'application/json' },
        body: JSON.stringify({ chargePointId, minutes }),
      });
    // site/CP_201 is traced already (above).
    for (let i = 1; i <= 255; i++) expect((await trace(`ghost/${i}`)).status).toBe(200);
    const refused = await trace('ghost/256');
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({
      error: '256 charge points are traced already: stop one (minutes 0) or wait until one ends',
    });
    // Prolonging one that is traced is fine; stopping one makes room.
    expect((await trace('ghost/7', 10)).status).toBe(200);
    expect((await trace('ghost/1', 0)).status).toBe(200);
    expect((await trace('ghost/256')).status).toBe(200);
    for (let i = 2; i <= 256; i++) await trace(`ghost/${i}`, 0);
  });

  it('streams overview snapshots as Server-Sent Events', async () => {
    const controller = new AbortController();
    const res = await fetch(new URL('api/events', base), {
      headers: { authorization: CREDENTIALS },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\ndata: ') && !text.startsWith('data: ')) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      if (/data: .*\n\n/.test(text)) break;
    }
    controller.abort();
    const data = JSON.parse(/data: (.*)\n\n/.exec(text)?.[1] ?? 'null') as {
      total: number;
      chargePoints: { id: string }[];
      status: { connectors: unknown[] };
    };
    expect(data.total).toBeGreaterThanOrEqual(2);
    expect(data.chargePoints.map((c) => c.id)).toContain('site/CP_16');
    expect(data.status.connectors).toHaveLength(1);
  });

  it('answers HEAD /api/events with headers only (a HEAD stream would never send them)', async () => {
    const res = await fetch(new URL('api/events', base), {
      method: 'HEAD',
      headers: { authorization: CREDENTIALS },
      signal: AbortSignal.timeout(5000),
    });
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({
      status: 200,
      type: 'text/event-stream; charset=utf-8',
    });
  });

  it('renders the page on the server with ids escaped, and a charge point page per id', async () => {
    const odd = await connectChargePoint({ url: `${ws}/site`, identity: '<b>odd</b>' });
    clients.push(odd);
    const page = await get('');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain('site/&lt;b&gt;odd&lt;/b&gt;');
    expect(page.text).not.toContain('<b>odd</b>');
    expect(page.text).toContain('href="chargepoints/site%2FCP_16"');
    const detail = await get('chargepoints/site%2FCP_16');
    expect(detail.text).toContain('Recent frames');
    expect(detail.text).toContain('src="../static/app.js"');
    // Unencoded slashes are redirected to the one-segment form the page's relative links need.
    const redirected = await fetch(new URL('chargepoints/site/CP_16', base), {
      headers: { authorization: CREDENTIALS },
      redirect: 'manual',
    });
    expect(redirected.status).toBe(302);
    expect(
      new URL(redirected.headers.get('location') ?? '', new URL('chargepoints/site/CP_16', base)).pathname,
    ).toBe('/chargepoints/site%2FCP_16');
  });

  it('stays ready through a broker outage (data is kept) and reports the link down', async () => {
    await h.broker.stop();
    const readiness = await untilValue(async () => {
      const r = await get('readyz', null);
      const body = JSON.parse(r.text) as { checks: { thingsboardConnected: boolean } };
      return !body.checks.thingsboardConnected && r;
    }, 'the link reported down');
    expect(readiness.status).toBe(200);
    const status = (await json('api/status')) as {
      thingsboard: { connected: boolean; lastFailure?: unknown };
    };
    expect(status.thingsboard).toMatchObject({
      connected: false,
      lastFailure: { reason: expect.any(String) },
    });
    await h.broker.listen();
  });
});
