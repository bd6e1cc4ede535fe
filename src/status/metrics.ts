/**
 * /metrics in the Prometheus text format (prom-client). Every value is read from the gateway's
 * own counters at scrape time (collect callbacks): the metrics keep no second bookkeeping, and a
 * registry per gateway (never prom-client's global one) keeps tests and embedders independent.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LatencyHistogram } from '../thingsboard/latency.js';
import type { GatewayStatus, StatusSource, TrafficDetail } from './model.js';
import { CSMS_METRIC_FAMILIES } from './csms-metrics.js';
import { SECURITY_METRIC_FAMILIES } from './security-metrics.js';

const NS = 'ocpp_gateway_';

/** Handshake counter fields → the `result` label of ocpp_gateway_handshakes_total. */
const HANDSHAKE_RESULTS: Record<string, string> = {
  accepted: 'accepted',
  rejectedNotFound: 'unknown_id',
  rejectedAuth: 'unauthorized',
  rejectedVersion: 'no_common_version',
  rejectedTls: 'tls_failed',
  rejectedAddress: 'address_not_allowed',
  rejectedBadRequest: 'bad_request',
  rejectedBusy: 'busy',
  rejectedDowngrade: 'downgrade',
  handshakeErrors: 'error',
};

/** Upload counter fields → the `result` label of ocpp_gateway_log_uploads_total. */
const UPLOAD_RESULTS: Record<string, string> = {
  stored: 'stored',
  unknownUrl: 'unknown_url',
  badPath: 'bad_path',
  tooLarge: 'too_large',
  busy: 'busy',
  failed: 'failed',
};

/** The status is read once per scrape, however many metrics use it. */
class ScrapeCache {
  private status: GatewayStatus | undefined;
  private traffic: TrafficDetail[] | undefined;
  constructor(private readonly source: StatusSource) {}
  begin(): void {
    this.status = undefined;
    this.traffic = undefined;
  }
  get current(): GatewayStatus {
    return (this.status ??= this.source.status());
  }
  get trafficDetail(): TrafficDetail[] {
    return (this.traffic ??= this.source.traffic());
  }
}

type Labels = Record<string, string>;

/** `notConnected` → `not_connected`: Prometheus label values in the ecosystem's style. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
}

function counter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  values: () => [Labels, number][],
): void {
  new Counter({
    name: NS + name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of values()) this.inc(labels, v);
    },
  });
}

function gauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  values: () => [Labels, number][],
): void {
  new Gauge({
    name: NS + name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of values()) this.set(labels, v);
    },
  });
}

/**
 * A histogram whose buckets are counted elsewhere (the publisher): reported, not observed here.
 * prom-client has no way to set a histogram's buckets, so `get()` — what the registry reads at
 * scrape time — is answered from the publisher's counts.
 */
class ExternalHistogram extends Histogram {
  private readonly metricName: string;
  private readonly helpText: string;
  private readonly read: () => LatencyHistogram;
  constructor(name: string, help: string, read: () => LatencyHistogram) {
    super({ name, help, buckets: [1], registers: [] });
    this.metricName = name;
    this.helpText = help;
    this.read = read;
  }
  override get(): ReturnType<Histogram['get']> {
    return this.snapshot();
  }
  /** What the registry reads for the text format. */
  getForPromString(): ReturnType<Histogram['get']> {
    return this.snapshot();
  }
  private snapshot(): ReturnType<Histogram['get']> {
    const h = this.read();
    const name = this.metricName;
    const values = [
      ...h.cumulative().map(({ le, count }) => ({
        metricName: `${name}_bucket`,
        labels: { le: le === Infinity ? '+Inf' : le },
        value: count,
      })),
      { metricName: `${name}_sum`, labels: {}, value: h.sum },
      { metricName: `${name}_count`, labels: {}, value: h.count },
    ];
    return Promise.resolve({
      name,
      help: this.helpText,
      type: 'histogram',
      values,
      aggregator: 'sum',
    } as never);
  }
}

export interface Metrics {
  readonly contentType: string;
  /** The exposition text of one scrape. */
  render(): Promise<string>;
}

export function createMetrics(source: StatusSource, version: string): Metrics {
  const registry = new Registry();
  const scrape = new ScrapeCache(source);
  const s = () => scrape.current;
  gauge(registry, 'info', 'Always 1; the version label says which gateway runs', ['version'], () => [
    [{ version }, 1],
  ]);
  gauge(registry, 'uptime_seconds', 'Seconds since the gateway started', [], () => [[{}, s().uptimeSeconds]]);
  gauge(
    registry,
    'connections',
    'Live charge point connections by OCPP version',
    ['connector', 'version'],
    () =>
      s().connectors.flatMap((c) =>
        Object.entries(c.connectionsByVersion).map(([v, n]): [Labels, number] => [
          { connector: c.name, version: v },
          n,
        ]),
      ),
  );
  counter(
    registry,
    'handshakes_total',
    'WebSocket handshakes by result (accepted, or the reason for refusing)',
    ['connector', 'result'],
    () =>
      s().connectors.flatMap((c) =>
        Object.entries(c.handshakes).map(([k, n]): [Labels, number] => [
          { connector: c.name, result: HANDSHAKE_RESULTS[k] ?? k },
          n,
        ]),
      ),
  );
  gauge(
    registry,
    'admissions_pending',
    'Handshakes waiting for their security admission decision (stored passwords, recorded profiles)',
    ['connector'],
    () =>
      s().connectors.map((c): [Labels, number] => [{ connector: c.name }, c.security.admissionsPending ?? 0]),
  );
  for (const family of SECURITY_METRIC_FAMILIES) {
    const { label } = family;
    counter(registry, family.name, family.help, label ? ['connector', label] : ['connector'], () =>
      s().connectors.flatMap((c) =>
        Object.entries(family.fields).map(([field, value]): [Labels, number] => [
          label ? { connector: c.name, [label]: value } : { connector: c.name },
          c.security[field] ?? 0,
        ]),
      ),
    );
  }
  counter(
    registry,
    'messages_total',
    'OCPP-J frames by version, direction, message type and action',
    ['connector', 'version', 'direction', 'type', 'action'],
    () =>
      scrape.trafficDetail.flatMap((t) =>
        t.messages.map((m): [Labels, number] => [
          {
            connector: t.connector,
            version: m.version,
            direction: m.direction,
            type: m.type,
            action: m.action,
          },
          m.count,
        ]),
      ),
  );
  counter(
    registry,
    'call_errors_total',
    'CALLERRORs sent (out) and received (in) by error code',
    ['connector', 'version', 'direction', 'code'],
    () =>
      scrape.trafficDetail.flatMap((t) =>
        t.callErrors.map((e): [Labels, number] => [
          { connector: t.connector, version: e.version, direction: e.direction, code: e.code },
          e.count,
        ]),
      ),
  );
  counter(
    registry,
    'protocol_events_total',
    'Protocol events per connector: bad_frames, call_timeouts, handler_errors, read_pauses, slow_readers_closed, …',
    ['connector', 'event'],
    () =>
      s().connectors.flatMap((c) =>
        Object.entries(c.protocol).map(([event, n]): [Labels, number] => [
          { connector: c.name, event: snakeCase(event) },
          n,
        ]),
      ),
  );
  counter(
    registry,
    'datapoints_mapped_total',
    'Attributes and telemetry values produced by the mapping',
    ['connector'],
    () => s().connectors.map((c): [Labels, number] => [{ connector: c.name }, c.mapping.mapped ?? 0]),
  );
  counter(
    registry,
    'datapoints_skipped_total',
    'Datapoints not published: a placeholder did not resolve (unresolved), a number JSON cannot carry (not_finite), a value not convertible to its type (unconvertible)',
    ['connector', 'reason'],
    () =>
      s().connectors.flatMap((c): [Labels, number][] => [
        [{ connector: c.name, reason: 'unresolved' }, c.mapping.skipped ?? 0],
        [{ connector: c.name, reason: 'not_finite' }, c.mapping.skippedNotFinite ?? 0],
        [{ connector: c.name, reason: 'unconvertible' }, c.mapping.unconvertible ?? 0],
      ]),
  );
  for (const f of CSMS_METRIC_FAMILIES) counter(registry, f.name, f.help, f.labelNames, () => f.values(s()));
  counter(
    registry,
    'timestamps_replaced_total',
    'Sample timestamps that could not be read, replaced by the time of receipt',
    ['connector'],
    () =>
      s().connectors.map((c): [Labels, number] => [{ connector: c.name }, c.mapping.receiveTimeUsed ?? 0]),
  );
  counter(registry, 'rpc_total', 'RPCs from ThingsBoard by outcome', ['connector', 'outcome'], () => [
    ...s().connectors.flatMap((c) =>
      Object.entries(c.rpc).map(([outcome, n]): [Labels, number] => [
        { connector: c.name, outcome: snakeCase(outcome) },
        n,
      ]),
    ),
    [{ connector: '', outcome: 'unrouted' }, s().rpcUnrouted],
  ]);
  const uploads = (): Record<string, number> | undefined => s().uploads;
  counter(
    registry,
    'log_uploads_total',
    'Log uploads from stations by result: stored, or refused as unknown_url, bad_path, too_large, busy, failed',
    ['result'],
    () =>
      Object.entries(UPLOAD_RESULTS).map(([field, result]): [Labels, number] => [
        { result },
        uploads()?.[field] ?? 0,
      ]),
  );
  counter(registry, 'log_upload_bytes_total', 'Bytes of log uploads stored', [], () => [
    [{}, uploads()?.bytesStored ?? 0],
  ]);
  counter(
    registry,
    'log_upload_urls_total',
    'Upload URLs handed to stations (GetLog, GetDiagnostics)',
    [],
    () => [[{}, uploads()?.urlsIssued ?? 0]],
  );
  gauge(registry, 'outbox_records', 'Records waiting in the outbox for ThingsBoard', [], () => [
    [{}, s().outbox.size],
  ]);
  gauge(
    registry,
    'outbox_oldest_record_age_seconds',
    'Age of the oldest record in the outbox (0 when empty)',
    [],
    () => [[{}, s().outbox.oldestAgeSeconds]],
  );
  counter(registry, 'outbox_appended_total', 'Records stored in the outbox', [], () => [
    [{}, s().outbox.appended ?? 0],
  ]);
  counter(registry, 'outbox_removed_total', 'Records removed after ThingsBoard acknowledged them', [], () => [
    [{}, s().outbox.removed ?? 0],
  ]);
  counter(
    registry,
    'outbox_failed_commits_total',
    'Group commits that failed (disk full, I/O error)',
    [],
    () => [[{}, s().outbox.failedCommits ?? 0]],
  );
  counter(registry, 'outbox_dropped_total', 'Records dropped unsent, by reason', ['reason'], () => [
    [{ reason: 'overflow' }, s().outbox.droppedOverflow ?? 0],
    [{ reason: 'expired' }, s().outbox.droppedExpired ?? 0],
  ]);
  gauge(registry, 'thingsboard_connected', '1 while the MQTT link to ThingsBoard is up', [], () => [
    [{}, s().thingsboard.connected ? 1 : 0],
  ]);
  counter(registry, 'thingsboard_connects_total', 'Successful MQTT connections to ThingsBoard', [], () => [
    [{}, s().thingsboard.counters.connects ?? 0],
  ]);
  counter(registry, 'thingsboard_connect_failures_total', 'Failed MQTT connection attempts', [], () => [
    [{}, s().thingsboard.counters.connectFailures ?? 0],
  ]);
  counter(registry, 'thingsboard_publishes_total', 'Publishes acknowledged by the broker', [], () => [
    [{}, s().thingsboard.counters.published ?? 0],
  ]);
  counter(
    registry,
    'thingsboard_downlink_problems_total',
    'Messages from ThingsBoard not handled: bad (not JSON, no RPC id, too deep) or handler_errors',
    ['problem'],
    () => [
      [{ problem: 'bad' }, s().thingsboard.counters.badDownlinks ?? 0],
      [{ problem: 'handler_errors' }, s().thingsboard.counters.handlerErrors ?? 0],
    ],
  );
  counter(
    registry,
    'thingsboard_publish_retries_total',
    'Publishes not acknowledged (link lost), sent again',
    [],
    () => [[{}, s().thingsboard.publish.retried]],
  );
  counter(
    registry,
    'rate_limit_wait_seconds_total',
    'Seconds publishes waited on ThingsBoard rate limits, by limit',
    ['limit'],
    () =>
      Object.entries(s().thingsboard.rateLimitWaits).map(([limit, sec]): [Labels, number] => [
        { limit },
        sec,
      ]),
  );
  registry.registerMetric(
    new ExternalHistogram(
      NS + 'publish_latency_seconds',
      'Time from an MQTT publish to the broker acknowledgement',
      () => source.publishLatency(),
    ),
  );
  collectDefaultMetrics({ register: registry });
  return {
    contentType: registry.contentType,
    render: () => {
      scrape.begin();
      return registry.metrics();
    },
  };
}
