/**
 * /metrics of the built gateway, family by family as issue 11 lists them: each is present, and
 * each moves with real traffic (scraped before and after the traffic that should move it) —
 * connections by version, handshakes refused by reason, messages by action and direction,
 * CALLERRORs by code, mapping skips, outbox depth and oldest age, the publish latency histogram,
 * RPC outcomes, rate-limit waits, process metrics. And the exposition follows Prometheus naming
 * (counters end in `_total`, units in base units and in the name) with bounded labels: no charge
 * point id ever becomes a label value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import {
  aBootNotification,
  connectChargePoint,
  handshakeStatus,
  RawChargePoint,
  rawUpgrade,
  type RpcClient,
} from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';

/** Ids chosen to be recognisable if they ever leaked into a label. */
const IDS = ['CP_METRICS_16', 'CP_METRICS_201', 'CP_METRICS_RAW'];

function meterValues(seq: number): Record<string, unknown> {
  return {
    connectorId: 1,
    meterValue: [
      {
        timestamp: new Date(Date.UTC(2026, 10, 30) + seq * 1000).toISOString(),
        sampledValue: [
          { value: String(seq), measurand: 'Energy.Active.Import.Register' },
          { value: String(seq * 10), measurand: 'Power.Active.Import' },
        ],
      },
    ],
  };
}

/** Exposition text → series (`name{labels}`) → value, and the families' TYPE lines. */
function parse(text: string): { series: Map<string, number>; types: Map<string, string> } {
  const series = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1] as string, type[2] as string);
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { series, types };
}

describe('/metrics moves with real traffic', () => {
  let h: Harness;
  let base: string;
  let ws: string;
  const clients: RpcClient[] = [];
  const raws: RawChargePoint[] = [];

  async function scrape(): Promise<Map<string, number>> {
    const res = await fetch(new URL('metrics', base));
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(await res.text()).series;
  }
  /** The value of a series, 0 when absent (a counter not yet incremented). */
  const v = (m: Map<string, number>, s: string): number => m.get(s) ?? 0;
  async function until(fn: (m: Map<string, number>) => boolean, what: string, ms = 10_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = await scrape();
      if (fn(m)) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const CONNECTOR = 'connector="Site"';

  beforeAll(async () => {
    h = await Harness.start({
      connectors: [
        {
          name: 'Site',
          ocpp: {
            centralSystem: { host: '127.0.0.1', port: 0 },
            chargePoints: [
              {
                idRegexpPattern: 'CP_METRICS_.*',
                deviceNameExpression: '${ChargePointId}',
                deviceTypeExpression: 'wallbox',
                timeseries: [
                  {
                    messageTypeFilter: 'MeterValues',
                    key: 'energy',
                    value: '${meter_value[0].sampled_value[0].value}',
                  },
                  {
                    messageTypeFilter: 'MeterValues',
                    key: 'power',
                    value: '${meter_value[0].sampled_value[1].value}',
                  },
                  // Never resolves: one mapping skip per MeterValues.
                  {
                    messageTypeFilter: 'MeterValues',
                    key: 'missing',
                    value: '${meter_value[0].no_such_key}',
                  },
                ],
              },
            ],
          },
        },
      ],
      // A local limit on the charge points' datapoints, 10 a second (the gateway keeps to 80 %):
      // the MeterValues below offer more, so publishes wait on it.
      thingsboard: { deviceDpRateLimits: '10:1' },
      statusServer: {},
      env: { LOG_LEVEL: 'info' },
    });
    base = await h.statusUrl();
    ws = h.urls.Site ?? '';
  });

  afterAll(async () => {
    for (const c of clients) await c.close({ code: 1000 }).catch(() => undefined);
    for (const r of raws) await r.shut();
    await h?.stop();
  });

  it('connections by version, handshakes by result, messages by action and direction', async () => {
    const before = await scrape();
    const cp16 = await connectChargePoint({ url: ws, identity: 'CP_METRICS_16' });
    clients.push(cp16);
    await cp16.call('BootNotification', aBootNotification());
    const cp201 = await connectChargePoint({ url: ws, identity: 'CP_METRICS_201', protocols: ['ocpp2.0.1'] });
    clients.push(cp201);
    await cp201.call('BootNotification', aBootNotification2());
    expect(await handshakeStatus(`${ws}/NOT_A_MATCH`, ['ocpp1.6'])).toBe(404);
    // Only unsupported versions offered: upgraded, then closed at once with 1002 (RFC 6455 §4.1).
    expect(await rawUpgrade(`${ws}/CP_METRICS_X`, ['ocpp9.9'])).toMatchObject({
      status: 101,
      closeCode: 1002,
    });
    const after = await scrape();

    for (const version of ['ocpp1.6', 'ocpp2.0.1']) {
      const s = `ocpp_gateway_connections{${CONNECTOR},version="${version}"}`;
      expect(v(after, s) - v(before, s), s).toBe(1);
    }
    for (const result of ['accepted', 'unknown_id', 'no_common_version']) {
      const s = `ocpp_gateway_handshakes_total{${CONNECTOR},result="${result}"}`;
      expect(v(after, s) - v(before, s), s).toBe(result === 'accepted' ? 2 : 1);
    }
    const boot = (version: string, direction: string, type: string) =>
      `ocpp_gateway_messages_total{${CONNECTOR},version="${version}",direction="${direction}",type="${type}",action="BootNotification"}`;
    for (const version of ['ocpp1.6', 'ocpp2.0.1']) {
      expect(v(after, boot(version, 'in', 'CALL')) - v(before, boot(version, 'in', 'CALL'))).toBe(1);
      expect(
        v(after, boot(version, 'out', 'CALLRESULT')) - v(before, boot(version, 'out', 'CALLRESULT')),
      ).toBe(1);
    }
  });

  it('CALLERRORs by code and direction, RPC outcomes', async () => {
    const before = await scrape();
    const raw = await RawChargePoint.open(`${ws}/CP_METRICS_RAW`, ['ocpp1.6']);
    raws.push(raw);
    raw.send(JSON.stringify([2, 'bad-1', 'Heartbeat', { unexpected: true }]));
    expect((await raw.answerTo('bad-1'))[2]).toBe('PropertyConstraintViolation');
    const cp16 = clients[0] as RpcClient;
    cp16.handle('Reset', () => ({ status: 'Accepted' }));
    expect(await h.tb.rpc('CP_METRICS_16', 1, 'Reset', { type: 'Soft' })).toEqual({
      result: { status: 'Accepted' },
    });
    // ocpp-rpc answers an action it has no handler for with CALLERROR NotImplemented.
    expect(await h.tb.rpc('CP_METRICS_16', 2, 'ClearCache', {})).toHaveProperty('error');
    expect(await h.tb.rpc('nobody', 3, 'Reset', { type: 'Soft' })).toHaveProperty('error');
    const after = await scrape();

    const moved = (s: string) => v(after, s) - v(before, s);
    expect(
      moved(
        `ocpp_gateway_call_errors_total{${CONNECTOR},version="ocpp1.6",direction="out",code="PropertyConstraintViolation"}`,
      ),
    ).toBe(1);
    expect(
      moved(
        `ocpp_gateway_call_errors_total{${CONNECTOR},version="ocpp1.6",direction="in",code="NotImplemented"}`,
      ),
    ).toBe(1);
    expect(moved(`ocpp_gateway_rpc_total{${CONNECTOR},outcome="ok"}`)).toBe(1);
    expect(moved(`ocpp_gateway_rpc_total{${CONNECTOR},outcome="call_error"}`)).toBe(1);
    expect(moved('ocpp_gateway_rpc_total{connector="",outcome="unrouted"}')).toBe(1);
  });

  it('mapping skips, outbox depth and oldest age, rate-limit waits, publish latency', async () => {
    const before = await scrape();
    const cp16 = clients[0] as RpcClient;
    // 15 MeterValues × 2 datapoints: three seconds of the local limit's 8 a second.
    for (let seq = 1; seq <= 15; seq++) await cp16.call('MeterValues', meterValues(seq));
    const skipped = `ocpp_gateway_datapoints_skipped_total{${CONNECTOR},reason="unresolved"}`;
    const backlog = await until(
      (m) =>
        v(m, 'ocpp_gateway_outbox_records') > 0 && v(m, 'ocpp_gateway_outbox_oldest_record_age_seconds') >= 1,
      'a backlog at least a second old, held by the rate limit',
    );
    expect(v(backlog, skipped) - v(before, skipped)).toBe(15);
    const drained = await until(
      (m) => v(m, 'ocpp_gateway_outbox_records') === 0,
      'the backlog to drain at the pace of the limit',
      20_000,
    );
    expect(v(drained, 'ocpp_gateway_outbox_oldest_record_age_seconds')).toBe(0);
    const waited = 'ocpp_gateway_rate_limit_wait_seconds_total{limit="devices.telemetryDataPoints"}';
    expect(v(drained, waited) - v(before, waited)).toBeGreaterThan(0.5);
    const count = 'ocpp_gateway_publish_latency_seconds_count';
    expect(v(drained, count)).toBeGreaterThan(v(before, count));
    expect(v(drained, 'ocpp_gateway_publish_latency_seconds_bucket{le="+Inf"}')).toBe(v(drained, count));
    expect(v(drained, 'ocpp_gateway_publish_latency_seconds_sum')).toBeGreaterThan(
      v(before, 'ocpp_gateway_publish_latency_seconds_sum'),
    );
    const delivered = 'ocpp_gateway_outbox_removed_total';
    expect(v(drained, delivered) - v(before, delivered)).toBeGreaterThanOrEqual(15);
  }, 40_000);

  it('process metrics, Prometheus naming, and no charge point id as a label value', async () => {
    const res = await fetch(new URL('metrics', base));
    const text = await res.text();
    const { series, types } = parse(text);
    expect(series.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(series.get('process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(series.get('process_open_fds')).toBeGreaterThan(0);
    expect(series.get('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(series.get('ocpp_gateway_uptime_seconds')).toBeGreaterThanOrEqual(0);

    const ours = [...types].filter(([name]) => name.startsWith('ocpp_gateway_'));
    expect(ours.length).toBeGreaterThan(20);
    for (const [name, type] of types) {
      expect(name, name).toMatch(/^[a-z_][a-z0-9_]*$/);
      // Base units only (seconds, bytes), spelt out; a counter's name ends in _total, others never.
      expect(name, name).not.toMatch(
        /_(ms|milliseconds|us|microseconds|minutes|hours|kb|mb|kilobytes|megabytes)(_|$)/,
      );
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      // prom-client's own nodejs_active_*_total gauges are its choice; ours follow the rule.
      else if (name.startsWith('ocpp_gateway_')) expect(name, name).not.toMatch(/_total$/);
      if (type === 'histogram' && name.startsWith('ocpp_gateway_'))
        expect(name, name).toMatch(/_(seconds|bytes)$/);
    }
    for (const key of series.keys()) {
      const labels = /\{(.*)\}$/.exec(key)?.[1] ?? '';
      for (const [, label] of labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) {
        expect(label, key).toMatch(/^[a-z_][a-z0-9_]*$/);
        expect(label, key).not.toMatch(/^(charge_point|chargepoint|charge_point_id|id|device|identity)$/);
      }
      for (const id of IDS) expect(key).not.toContain(id);
    }
  });
});
