/**
 * The gateway's statistics in ThingsBoard, as the Python gateway sends them
 * (gateway/statistics/statistics_service.py, release 3.8): every `statsSendPeriodInSeconds`, one
 * telemetry message of the gateway device with `machineStats`, `serviceStats` and
 * `connectorsStats.<connector name>` — counts over the period just ended, like the Python gateway,
 * which clears its counters after each send — and, once per connection, the attributes
 * `totalMemory`, `totalDisk`, `cpuCount` and `Version`. Beside them `ocppStats` (ours): charge
 * points per OCPP version, CALLERRORs, RPC outcomes, the outbox's age, rate-limit waits, the
 * Central System's authorization decisions by status and sessions ended.
 *
 * Also, every 5 s when it changed, `<connector>_ERRORS_COUNT` and `ALL_ERRORS_COUNT`: errors logged
 * in the current minute, the column "Errors" of ThingsBoard's connectors page (tb_logger.py).
 *
 * Every figure comes from Gateway.status() (the stages' own counters) and the machine.
 */
import { totalmem } from 'node:os';
import { AUTHORIZATION_STATUSES } from '../config/csms-types.js';
import type { StatisticsConfig } from '../config/types.js';
import type { GatewayStatus } from '../status/model.js';
import type { LimitsInForce } from '../thingsboard/pacer.js';
import type { Logger } from '../log.js';
import type { ThingsBoardClient } from '../thingsboard/client.js';
import {
  bytes2human,
  cpuCount,
  disk,
  memoryUsedPercent,
  ProcessCpu,
  processMemoryPercent,
  totalCpuUsage,
} from './machine.js';

const ERRORS_SEND_MS = 5000;
const ERRORS_RESET_MS = 60_000;

export interface StatisticsOptions {
  client: ThingsBoardClient;
  status(): GatewayStatus;
  logger: Logger;
  version: string;
  config: StatisticsConfig;
  /** Send `<connector>_ERRORS_COUNT` (the gateway page reads it) even without statistics. */
  errorCounts: boolean;
}

type Counts = Record<string, number>;

/** Monotonic counters read for one period: the figure is the difference to the previous read. */
class Deltas {
  private previous = new Map<string, number>();

  take(current: Map<string, number>): (key: string) => number {
    const before = this.previous;
    this.previous = current;
    return (key) => {
      const now = current.get(key) ?? 0;
      const then = before.get(key) ?? 0;
      // A counter that went back (a connector was removed and added again) counts from zero.
      return now >= then ? now - then : now;
    };
  }
}

export class GatewayStatistics {
  private readonly opts: StatisticsOptions;
  private config: StatisticsConfig;
  private readonly cpu = new ProcessCpu();
  private readonly deltas = new Deltas();
  private timer: NodeJS.Timeout | undefined;
  private errorsTimer: NodeJS.Timeout | undefined;
  private errorsWindowStart = new Map<string, number>();
  private errorsWindowAt = Date.now();
  private lastErrorsSent = '';
  private started = false;

  constructor(opts: StatisticsOptions) {
    this.opts = opts;
    this.config = opts.config;
  }

  start(): void {
    this.started = true;
    this.opts.client.onConnect(() => this.onConnect());
    this.schedule();
  }

  stop(): void {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    if (this.errorsTimer) clearInterval(this.errorsTimer);
    this.timer = undefined;
    this.errorsTimer = undefined;
  }

  /** New settings (remote configuration): applied at once. */
  reconfigure(config: StatisticsConfig, errorCounts: boolean): void {
    const wasEnabled = this.config.enable;
    this.config = config;
    this.opts.errorCounts = errorCounts;
    if (!this.started) return;
    this.schedule();
    if (config.enable && !wasEnabled && this.opts.client.connected) this.onConnect();
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.errorsTimer) clearInterval(this.errorsTimer);
    this.timer = undefined;
    this.errorsTimer = undefined;
    if (this.config.enable) {
      this.timer = setInterval(() => void this.send(), this.config.periodMs);
      this.timer.unref();
    }
    if (this.config.enable || this.opts.errorCounts) {
      this.errorsTimer = setInterval(() => this.sendErrorCounts(), ERRORS_SEND_MS);
      this.errorsTimer.unref();
    }
  }

  private onConnect(): void {
    if (!this.config.enable) return;
    void this.sendOnce();
    void this.send();
  }

  /** The attributes sent once per connection. */
  async machineAttributes(): Promise<Record<string, unknown>> {
    const d = await disk();
    return {
      totalMemory: bytes2human(totalmem()),
      totalDisk: d ? bytes2human(d.total) : null,
      cpuCount: cpuCount(),
      Version: this.opts.version,
    };
  }

  private async sendOnce(): Promise<void> {
    try {
      await this.opts.client.device.publishAttributes(await this.machineAttributes());
    } catch (err) {
      this.opts.logger.debug({ err: String(err) }, 'machine attributes not delivered');
    }
  }

  private async send(): Promise<void> {
    if (!this.opts.client.connected) return;
    const telemetry = await this.collect();
    try {
      await this.opts.client.device.publishTelemetry(telemetry);
    } catch (err) {
      this.opts.logger.debug({ err: String(err) }, 'statistics not delivered');
    }
  }

  /** One period's statistics (the counts since the previous call). */
  async collect(): Promise<Record<string, unknown>> {
    const s = this.opts.status();
    const flat = new Map<string, number>();
    const put = (key: string, value: number | undefined): void => void flat.set(key, value ?? 0);
    const tb = s.thingsboard;
    put('published', tb.counters.published);
    put(
      'received',
      (tb.counters.messagesIn ?? 0) - (tb.counters.ignoredEchoes ?? 0) - (tb.device?.ignoredEchoes ?? 0),
    );
    put('pulled', tb.delivered?.recordsRead);
    put('pushed', s.outbox.removed);
    put('ts', tb.delivered?.telemetryDatapoints);
    put('attr', tb.delivered?.attributeDatapoints);
    put('waits', tb.rateLimiting?.waits);
    put('waitedMs', tb.rateLimiting?.waitedMs);
    put('overflow', s.outbox.droppedOverflow);
    put('expired', s.outbox.droppedExpired);
    // RPC outcomes: per connector (connector/views.ts), plus those for no live charge point.
    let rpcOk = 0;
    let rpcFailed = s.rpcUnrouted;
    for (const c of s.connectors) {
      const r = c.rpc;
      rpcOk += r.ok + r.noReply;
      rpcFailed += r.callError + r.timeout + r.invalid + r.notConnected + r.unknownMethod + r.refused;
    }
    put('rpcIn', rpcOk + rpcFailed);
    put('rpcOk', rpcOk);
    put('rpcErr', rpcFailed);
    for (const c of s.connectors) {
      const p = c.protocol;
      put(`${c.name}\0msgs`, (p.callsIn ?? 0) + (p.sendsIn ?? 0));
      put(`${c.name}\0bytes`, p.bytesIn);
      put(`${c.name}\0attr`, c.mapping.attributes);
      put(`${c.name}\0ts`, c.mapping.timeseries);
      put(`${c.name}\0skipped`, (c.mapping.skipped ?? 0) + (c.mapping.unconvertible ?? 0));
      put(`${c.name}\0errors`, c.logErrors);
      put(`${c.name}\0callErrorsOut`, p.callErrorsOut);
      put(`${c.name}\0callErrorsIn`, p.callErrorsIn);
      put(`${c.name}\0callTimeouts`, p.callTimeouts);
      put(`${c.name}\0badFrames`, p.badFrames);
      const auth = c.csms.authorization ?? {};
      for (const status of AUTHORIZATION_STATUSES) put(`${c.name}\0auth\0${status}`, auth[status]);
      put(`${c.name}\0sessionsEnded`, c.csms.sessions?.ended);
    }
    const d = this.deltas.take(flat);
    const d2 = await disk();
    // Keyed by connector names, which remote configuration from ThingsBoard can choose: null
    // prototypes, so that a connector named "__proto__" keeps its figures.
    const connectorsStats = Object.create(null) as Record<string, Counts>;
    const ocppConnectors = Object.create(null) as Record<string, Record<string, unknown>>;
    const byVersion: Counts = {};
    let chargePoints = 0;
    let callErrorsSent = 0;
    let callErrorsReceived = 0;
    let callTimeouts = 0;
    let sessionsEnded = 0;
    const authorizations: Counts = {};
    for (const c of s.connectors) {
      const k = (name: string): number => d(`${c.name}\0${name}`);
      connectorsStats[c.name] = {
        connectorMsgsReceived: k('msgs'),
        connectorBytesReceived: k('bytes'),
        convertersAttrProduced: k('attr'),
        convertersTsProduced: k('ts'),
        convertersMsgDropped: k('skipped'),
        connectorsErrors: k('errors'),
        convertersErrors: 0,
      };
      chargePoints += c.connections;
      for (const [v, n] of Object.entries(c.connectionsByVersion)) byVersion[v] = (byVersion[v] ?? 0) + n;
      callErrorsSent += k('callErrorsOut');
      callErrorsReceived += k('callErrorsIn');
      callTimeouts += k('callTimeouts');
      sessionsEnded += k('sessionsEnded');
      for (const status of AUTHORIZATION_STATUSES) {
        const n = k(`auth\0${status}`);
        if (n > 0) authorizations[status] = (authorizations[status] ?? 0) + n;
      }
      ocppConnectors[c.name] = {
        chargePoints: c.connections,
        byVersion: c.connectionsByVersion,
        callErrorsSent: k('callErrorsOut'),
        callErrorsReceived: k('callErrorsIn'),
        callTimeouts: k('callTimeouts'),
        badFrames: k('badFrames'),
      };
    }
    const memory = process.memoryUsage();
    const limits = tb.sessionLimits as Partial<LimitsInForce> | undefined;
    return {
      machineStats: {
        totalCpuUsage: totalCpuUsage(),
        diskUsage: d2?.percent ?? null,
        freeMemory: await memoryUsedPercent(),
        freeDisk: d2 ? bytes2human(d2.free) : null,
        gwProcessCpuUsage: this.cpu.sample(),
        gwMemory: processMemoryPercent(),
        gwProcessMemoryFullInfo: {
          rss: memory.rss,
          heapTotal: memory.heapTotal,
          heapUsed: memory.heapUsed,
          external: memory.external,
          arrayBuffers: memory.arrayBuffers,
        },
        msgsSentToPlatform: d('published'),
        msgsReceivedFromPlatform: d('received'),
      },
      serviceStats: {
        storageMsgPulled: d('pulled'),
        storageMsgCount: s.outbox.size ?? 0,
        platformMsgPushed: d('pushed'),
        platformAttrProduced: d('attr'),
        platformTsProduced: d('ts'),
      },
      connectorsStats,
      ocppStats: {
        chargePointsConnected: chargePoints,
        chargePointsByVersion: byVersion,
        callErrorsSent,
        callErrorsReceived,
        callTimeouts,
        authorizations,
        sessionsEnded,
        rpc: { received: d('rpcIn'), succeeded: d('rpcOk'), failed: d('rpcErr') },
        outbox: {
          records: s.outbox.size ?? 0,
          oldestRecordAgeSeconds: Math.round(s.outbox.oldestAgeSeconds),
          droppedOverflow: d('overflow'),
          droppedExpired: d('expired'),
        },
        rateLimits: {
          waits: d('waits'),
          waitedMs: d('waitedMs'),
          waitingForThingsBoard: limits?.waitingForThingsBoard ?? false,
          fromThingsBoard: limits?.thingsboard ?? 'none',
          devices: limits?.devices ?? {},
          device: limits?.device ?? {},
        },
        connectors: ocppConnectors,
      },
    };
  }

  /** `<connector>_ERRORS_COUNT`: errors logged this minute, sent when it changed. */
  private sendErrorCounts(): void {
    if (!this.opts.client.connected) return;
    const s = this.opts.status();
    const now = Date.now();
    if (now - this.errorsWindowAt >= ERRORS_RESET_MS) {
      this.errorsWindowAt = now;
      this.errorsWindowStart = new Map(s.connectors.map((c) => [c.name, c.logErrors ?? 0]));
    }
    const values: Counts = {};
    let all = 0;
    for (const c of s.connectors) {
      const start = this.errorsWindowStart.get(c.name) ?? 0;
      const logged = c.logErrors ?? 0;
      const n = logged >= start ? logged - start : logged;
      values[`${c.name}_ERRORS_COUNT`] = n;
      all += n;
    }
    values.ALL_ERRORS_COUNT = all;
    const text = JSON.stringify(values);
    if (text === this.lastErrorsSent) return;
    this.lastErrorsSent = text;
    this.opts.client.device.publishTelemetry(values).catch(() => {
      this.lastErrorsSent = '';
    });
  }
}
