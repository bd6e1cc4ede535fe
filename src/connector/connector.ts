/**
 * The OCPP connector: one Central System endpoint (one ocpp.json), the charge points connected
 * to it, and the mapping in both directions. The flow for every CALL is: frame → mapped records →
 * committed to the outbox → CALLRESULT, so a charge point is only told "accepted" for data that
 * is already safe. Decisions (authorization, registration, sessions, DataTransfer) are the
 * features' (src/csms/), asked through the connector's extension point (features.ts).
 */
import type { ChargePointConfig, OcppConnectorConfig } from '../config/types.js';
import { createCsmsFeatures, type CsmsFeatures } from '../csms/index.js';
import type { OpenTransactionView } from '../csms/sessions-feature.js';
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import { OcppError } from '../ocpp/errors.js';
import { CentralSystemServer } from '../ocpp/server.js';
import { newProtocolCounters, type CallHandler, type ChargePointSession } from '../ocpp/session.js';
import type { ValidatorSet } from '../ocpp/validator.js';
import type { DeviceIdentity, NewRecord, Outbox, StateStore } from '../outbox/types.js';
import type { SharedAttributesUpdate } from '../thingsboard/device-channel.js';
import { DeviceAnnouncer, type Announced } from './announcer.js';
import { ANSWERS } from './answers.js';
import { DEFAULT_RPC_TIMEOUT_MS, describeFailure, sendDownlink } from './downlink.js';
import { EntryFeatures, FeatureFailures, runAfterAnswer } from './feature-host.js';
import type { CallContext, ConnectionView, CsmsThingsBoardLink } from './features.js';
import { DeviceRegistry } from './registry.js';
import { answerRpc, type RpcReply } from './rpc.js';
import { mappingScope, UplinkMapper, type UplinkCounters } from './uplink.js';
import { withNumericSampledValues } from './value-types.js';

export interface ConnectorDeps {
  config: OcppConnectorConfig;
  outbox: Outbox;
  state: StateStore;
  validators: ValidatorSet;
  logger: Logger;
  /** The gateway device's channel to ThingsBoard (authorization RPCs, attributes); absent in some tests. */
  thingsboard?: CsmsThingsBoardLink;
  /** Per-message warnings, summarised; the gateway shares one among its stages. */
  warnings?: LogSummary;
  now?: () => Date;
}

export interface Route {
  entry: ChargePointConfig;
  mapper: UplinkMapper;
  features: EntryFeatures;
}

export interface Live extends Announced {
  route: Route;
  /** Allocated on first use by a feature. */
  view?: ConnectionView;
  /** Feature work of this connection, one CALL after the other. */
  chain?: Promise<unknown>;
  /** CALLs in `chain` not answered yet (bounded by maxQueuedCalls). */
  waiting?: number;
  /** The afterAnswer tasks of the CALL just answered; the next one waits for them. */
  after?: Promise<void>;
}

export class OcppConnector implements CallHandler {
  readonly name: string;
  readonly uplinkCounters: UplinkCounters = {
    mapped: 0,
    skipped: 0,
    unconvertible: 0,
    skippedNotFinite: 0,
    receiveTimeUsed: 0,
  };
  readonly protocolCounters = newProtocolCounters();
  private readonly deps: ConnectorDeps;
  private readonly logger: Logger;
  private readonly csms: CsmsFeatures;
  private readonly routes: Route[];
  private readonly registry: DeviceRegistry;
  private readonly announcer: DeviceAnnouncer;
  private readonly server: CentralSystemServer<Route>;
  private readonly live = new Map<string, Live>();
  private readonly bySession = new WeakMap<ChargePointSession, Live>();
  private readonly now: () => Date;
  private readonly warnings: LogSummary;
  private readonly failures: FeatureFailures;

  constructor(deps: ConnectorDeps) {
    this.deps = deps;
    this.name = deps.config.name;
    this.logger = deps.logger.child({ connector: deps.config.name });
    this.now = deps.now ?? (() => new Date());
    this.warnings = deps.warnings ?? new LogSummary({ logger: this.logger });
    this.failures = new FeatureFailures(this.warnings);
    this.csms = createCsmsFeatures({
      config: deps.config,
      state: deps.state,
      thingsboard: deps.thingsboard,
      logger: this.logger,
      warnings: this.warnings,
      now: this.now,
    });
    this.routes = this.buildRoutes(deps.config);
    this.registry = new DeviceRegistry(deps.state, this.logger);
    this.announcer = new DeviceAnnouncer({
      registry: this.registry,
      outbox: deps.outbox,
      logger: this.logger,
      warnings: this.warnings,
      announceUnbootedAfter: deps.config.centralSystem.announceUnbootedAfter,
      isCurrent: (live) => this.live.get(live.session.id) === live,
    });
    this.server = new CentralSystemServer<Route>({
      config: deps.config.centralSystem,
      logger: this.logger,
      validators: deps.validators,
      handler: this,
      protocolCounters: this.protocolCounters,
      resolveChargePoint: (id) => this.routes.find((r) => r.entry.idRegexp.test(id)),
      onSession: (session, route) => this.onSession(session, route),
      warnings: this.warnings,
    });
  }

  /**
   * Everything per chargePoints entry is derived from the configuration (mapper, features), so a
   * new configuration can be applied by building routes again.
   */
  private buildRoutes(config: OcppConnectorConfig): Route[] {
    return config.chargePoints.map((entry) => ({
      entry,
      mapper: new UplinkMapper(
        entry,
        this.uplinkCounters,
        this.logger,
        this.warnings,
        config.centralSystem.maxJsonDepth,
      ),
      features: new EntryFeatures(entry, this.csms.all),
    }));
  }

  /** Starts listening; resolves with the bound port. */
  async start(): Promise<number> {
    this.registry.load();
    for (const f of this.csms.all) await f.start?.();
    const port = await this.server.start();
    const { host } = this.deps.config.centralSystem;
    const scheme = this.deps.config.centralSystem.connection.type === 'tls' ? 'wss' : 'ws';
    this.logger.info({ url: `${scheme}://${host}:${port}/` }, 'central system listening');
    return port;
  }

  /** Stops accepting and closes every charge point connection (their disconnects go to the outbox). */
  async stop(): Promise<void> {
    for (const f of this.csms.all) f.stop?.();
    await this.server.stop();
  }

  get serverCounters(): CentralSystemServer<Route>['counters'] {
    return this.server.counters;
  }

  get connectionCount(): number {
    return this.live.size;
  }

  /** Counters of the Central System's decisions, per feature, and of features that failed, per stage. */
  get csmsCounters(): Record<string, Record<string, number>> {
    return {
      ...Object.fromEntries(this.csms.all.map((f) => [f.name, { ...f.counters }])),
      failures: { ...this.failures.counters },
    };
  }

  /** Open transactions of a charge point (read-only view; the StateStore holds them). */
  openTransactions(chargePointId: string): Promise<OpenTransactionView[]> {
    return this.csms.sessions.openTransactions(chargePointId);
  }

  /** Devices announced on live connections, for re-announcing after an MQTT reconnect. */
  announcedDevices(): DeviceIdentity[] {
    const out: DeviceIdentity[] = [];
    for (const l of this.live.values()) if (l.announced) out.push(l.announced);
    return out;
  }

  /** A device (or charge point id) with a live charge point on this connector. */
  ownsDevice(device: string): boolean {
    return this.sessionOfDevice(device) !== undefined;
  }

  /** A device this connector has known, live or not (for ThingsBoard's decisions about offline devices). */
  remembersDevice(device: string): boolean {
    return this.chargePointIdOf(device) !== undefined;
  }

  /** Shared attributes of the gateway device itself (e.g. `ocppIdTokens`). */
  onGatewayAttributes(update: SharedAttributesUpdate): void {
    for (const f of this.csms.all)
      this.failures.run('onGatewayAttributes', { feature: f.name }, () => f.onGatewayAttributes?.(update));
  }

  /** Every (re)connect to ThingsBoard. */
  onThingsBoardConnected(): void {
    for (const f of this.csms.all)
      this.failures.run('onThingsBoardConnected', { feature: f.name }, () => f.onThingsBoardConnected?.());
  }

  // ---- charge point → ThingsBoard ----

  private onSession(session: ChargePointSession, route: Route): void {
    const id = session.id;
    const previous = this.live.get(id);
    const live: Live = { session, route, announced: undefined };
    this.live.set(id, live);
    this.bySession.set(session, live);
    if (previous) {
      this.logger.info(
        { chargePointId: id },
        'charge point reconnected: the new connection replaces the old',
      );
      this.announcer.forget(previous);
      previous.session.close(1000, 'replaced by a new connection');
    }
    this.logger.info({ chargePointId: id, ocppVersion: session.spec.version }, 'charge point connected');
    session.socket.once('close', () => this.onSessionClosed(live));
    this.announcer.connected(live);
    if (route.features.wantsConnections) route.features.connected(this.viewOf(live), this.failures);
  }

  private onSessionClosed(live: Live): void {
    const { session } = live;
    if (this.live.get(session.id) !== live) return; // replaced: the device stays connected
    this.live.delete(session.id);
    this.logger.info({ chargePointId: session.id }, 'charge point disconnected');
    this.announcer.closed(live);
  }

  handleCall(session: ChargePointSession, action: string, payload: Record<string, unknown>): unknown {
    const live = this.bySession.get(session);
    const answer = ANSWERS[session.spec.version].get(action);
    if (!live || !answer) throw new OcppError('NotImplemented', `action "${action}" is not handled`);
    if (live.route.features.involves(action)) {
      // A station that sends CALLs without waiting for answers, while a decision takes seconds
      // (ThingsBoard asked, or unreachable), must not queue work and memory without bound.
      const waiting = live.waiting ?? 0;
      const max = this.deps.config.centralSystem.maxQueuedCalls;
      if (waiting >= max) {
        throw new OcppError('InternalError', `too many calls waiting for a decision (maxQueuedCalls ${max})`);
      }
      live.waiting = waiting + 1;
      const run = (): Promise<unknown> => this.answerWithFeatures(live, action, payload);
      const next = (live.chain ?? Promise.resolve()).then(run, run);
      const settled = async (): Promise<void> => {
        const after = live.after;
        live.after = undefined;
        await after;
        live.waiting = (live.waiting ?? 1) - 1;
      };
      live.chain = next.then(settled, settled);
      return next;
    }
    // The path of every message no feature takes part in (the hot path): synchronous up to the outbox.
    const records = this.recordsOf(live, action, payload);
    const response = this.defaultAnswer(live, action, payload);
    if (records.length === 0) return response;
    // Answer only once the records are committed: the charge point may then forget them.
    return this.deps.outbox.append(records).then(() => response);
  }

  private defaultAnswer(
    live: Live,
    action: string,
    payload: Record<string, unknown>,
  ): Record<string, unknown> {
    const answer = ANSWERS[live.session.spec.version].get(action);
    if (!answer) throw new OcppError('NotImplemented', `action "${action}" is not handled`);
    return answer({
      payload,
      heartbeatInterval: this.deps.config.centralSystem.heartbeatInterval,
      nextTransactionId: () => this.deps.state.nextTransactionId(),
      now: this.now,
    });
  }

  private async answerWithFeatures(
    live: Live,
    action: string,
    payload: Record<string, unknown>,
  ): Promise<unknown> {
    const { features } = live.route;
    const view = this.viewOf(live);
    const refusal = await features.admit(view, action);
    if (refusal) throw refusal;
    const records = this.recordsOf(live, action, payload);
    const published: {
      kind: 'telemetry' | 'attributes';
      values: Record<string, unknown>;
      ts: number | undefined;
    }[] = [];
    const after: (() => void | Promise<unknown>)[] = [];
    const ctx: CallContext = {
      connection: view,
      action,
      payload,
      receivedAt: this.now(),
      response: this.defaultAnswer(live, action, payload),
      publish: (kind, values, ts) => published.push({ kind, values, ts }),
      afterAnswer: (task) => after.push(task),
    };
    try {
      await features.runHooks(ctx);
    } catch (err) {
      // The charge point gets a CALLERROR and may send again; what it sent (and its device's
      // announcement, already made) is stored all the same: at least once, never lost.
      this.announcer.persist(records, live.session.id);
      throw err;
    }
    for (const p of published) records.push(...this.datapoint(live, p.kind, p.values, p.ts));
    if (records.length > 0) await this.deps.outbox.append(records);
    live.after = runAfterAnswer(after, this.failures, { chargePointId: live.session.id, action });
    return ctx.response;
  }

  /** A boot's announcement and the mapped datapoints of one message. */
  private recordsOf(live: Live, action: string, payload: Record<string, unknown>): NewRecord[] {
    const records: NewRecord[] = [];
    if (action === 'BootNotification') records.push(...this.announcer.booted(live, payload));
    records.push(...this.mapData(live, action, payload));
    return records;
  }

  /** OCPP 2.1 SEND (e.g. NotifyPeriodicEventStream): mapped like a CALL, never answered. */
  handleSend(session: ChargePointSession, action: string, payload: Record<string, unknown>): void {
    const live = this.bySession.get(session);
    if (live) this.announcer.persist(this.mapData(live, action, payload), session.id);
  }

  /** The records of one message's datapoints, preceded by a connect if the device is not yet announced. */
  private mapData(live: Live, action: string, payload: Record<string, unknown>): NewRecord[] {
    const { mapper, entry } = live.route;
    if (!mapper.handles(action)) return [];
    const numeric = live.session.spec.version === 'ocpp1.6' && !entry.sampledValuesAsText;
    const scope = mappingScope(
      action,
      numeric ? withNumericSampledValues(action, payload) : payload,
      this.deps.config.centralSystem.maxJsonDepth,
    );
    const data = mapper.map(action, scope, this.announcer.identityFor(live).name, this.now().getTime());
    return this.announcer.withAnnouncement(live, data);
  }

  /** One datapoint record of a feature, announced first if needed. */
  private datapoint(
    live: Live,
    kind: 'telemetry' | 'attributes',
    values: Record<string, unknown>,
    ts: number | undefined,
  ): NewRecord[] {
    const device = this.announcer.identityFor(live).name;
    const body =
      kind === 'telemetry'
        ? JSON.stringify({ ts: ts ?? this.now().getTime(), values })
        : JSON.stringify(values);
    return this.announcer.withAnnouncement(live, [{ kind, device, body }]);
  }

  /** How features see a connection (allocated on first use: idle charge points cost nothing). */
  private viewOf(live: Live): ConnectionView {
    if (live.view) return live.view;
    const id = live.session.id;
    const view: ConnectionView = {
      chargePointId: id,
      version: live.session.spec.version,
      entry: live.route.entry,
      facts: new Map(),
      device: () => this.announcer.identityFor(live).name,
      call: (action, payload, timeoutMs = DEFAULT_RPC_TIMEOUT_MS) =>
        live.session.call(action, payload, timeoutMs),
      publish: (kind, values, ts) => this.announcer.persist(this.datapoint(live, kind, values, ts), id),
      isCurrent: () => this.live.get(id) === live,
    };
    live.view = view;
    return view;
  }

  // ---- ThingsBoard → charge point ----

  /** Charge point id of a device name, or of a charge point id used as one; live first, then remembered. */
  private chargePointIdOf(device: string): string | undefined {
    return (
      this.registry.chargePointOf(device) ??
      (this.live.has(device) ? device : this.registry.rememberedChargePoint(device))
    );
  }

  private sessionOfDevice(device: string): Live | undefined {
    const id = this.registry.chargePointOf(device) ?? device;
    return this.live.get(id);
  }

  /** A shared attribute update for one of this connector's devices. */
  onAttributeUpdate(device: string, data: Record<string, unknown>): void {
    const chargePointId = this.chargePointIdOf(device);
    const live = this.sessionOfDevice(device);
    if (chargePointId !== undefined) {
      // Keys from ThingsBoard: a Map, never a plain-object lookup.
      const values = new Map(Object.entries(data));
      const connection = live ? this.viewOf(live) : undefined;
      for (const f of live?.route.features.features ?? this.csms.all) {
        this.failures.run('onDeviceAttributes', { device, feature: f.name }, () =>
          f.onDeviceAttributes?.(chargePointId, device, values, connection),
        );
      }
    }
    if (!live) {
      this.warnings.warn(
        'attribute-update-no-live-device',
        { device },
        'attribute update for a device with no live charge point: not delivered',
      );
      return;
    }
    for (const [key, value] of Object.entries(data)) {
      for (const target of live.route.entry.attributeUpdates) {
        if (target.attributeOnThingsBoard !== key) continue;
        sendDownlink(
          { call: (action, payload, timeoutMs) => this.send(live, action, payload, timeoutMs) },
          target,
          { attributeKey: key, attributeValue: value },
          DEFAULT_RPC_TIMEOUT_MS,
        ).then(
          (response) => this.logger.debug({ device, key, response }, 'attribute update delivered'),
          (err: unknown) =>
            this.warnings.warn(
              'attribute-update-failed',
              { device, key, reason: describeFailure(err) },
              'attribute update not delivered',
            ),
        );
      }
    }
  }

  /**
   * A CALL from ThingsBoard to a charge point: the features' vetoes first, then the session. The
   * deadline counts from ThingsBoard's request, so the time a veto takes (asking ThingsBoard to
   * authorize a remote start) is part of it.
   */
  private async send(live: Live, action: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    const { features } = live.route;
    if (!features.vetoes) return live.session.call(action, payload, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    await features.vetoWithin({ connection: this.viewOf(live), action, payload }, deadline, timeoutMs);
    return live.session.call(action, payload, Math.max(1, deadline - Date.now()));
  }

  /**
   * An RPC for a device (by device name, or by charge point id); resolves with the reply data for
   * ThingsBoard, or undefined when the config entry says `withResponse: false`.
   */
  onRpc(device: string, method: string, params: unknown): Promise<RpcReply | undefined> {
    const live = this.sessionOfDevice(device);
    if (!live) return Promise.resolve({ error: `device "${device}" has no live charge point` });
    return answerRpc({
      session: live.session,
      entry: live.route.entry,
      method,
      params,
      send: (action, payload, timeoutMs) => this.send(live, action, payload, timeoutMs),
      featureMethod: live.route.features.rpcMethod(method),
      veto: (action, payload) =>
        live.route.features.beforeSend({ connection: this.viewOf(live), action, payload }),
      connection: () => this.viewOf(live),
      warnings: this.warnings,
      device,
    });
  }
}
