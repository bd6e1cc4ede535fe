/**
 * The OCPP connector: one Central System endpoint (one ocpp.json), the charge points connected
 * to it, and the mapping in both directions. The flow for every CALL is: frame → mapped records →
 * committed to the outbox → CALLRESULT, so a charge point is only told "accepted" for data that
 * is already safe. Decisions (authorization, registration, sessions, DataTransfer) are the
 * features' (src/csms/), asked through the connector's extension point (features.ts); the routes
 * (routes.ts) hold them per chargePoints entry and are rebuilt when the configuration changes.
 */
import type { OcppConnectorConfig } from '../config/types.js';
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import { OcppError } from '../ocpp/errors.js';
import type { HandshakeInfo } from '../ocpp/server.js';
import { newProtocolCounters, type CallHandler, type ChargePointSession } from '../ocpp/session.js';
import { TrafficCounters } from '../ocpp/traffic.js';
import type { ValidatorSet } from '../ocpp/validator.js';
import type { OcppVersion } from '../ocpp/versions.js';
import type { DeviceIdentity, Outbox, StateStore } from '../outbox/types.js';
import type { SharedAttributesUpdate } from '../thingsboard/device-channel.js';
import { ChargePointActivity } from './activity.js';
import { DeviceAnnouncer } from './announcer.js';
import { CallAnswering, type Live } from './answering.js';
import { ANSWERS } from './answers.js';
import { DeviceCommands } from './commands.js';
import type { RpcReplyData } from './downlink.js';
import { CentralSystemEndpoint } from './endpoint.js';
import { FeatureFailures } from './feature-host.js';
import type { CsmsThingsBoardLink } from './features.js';
import { ConnectionInspector } from './inspector.js';
import { DeviceRegistry } from './registry.js';
import type { DeviceRenames } from './renames.js';
import { reroute, RouteTable, type Route } from './routes.js';
import { newUplinkCounters, type UplinkCounters } from './uplink.js';
import type { UploadLocations } from './upload-location.js';
import {
  newRpcCounters,
  type ChargePointDetail,
  type ChargePointView,
  type TransactionView,
} from './views.js';

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
  /** Upload URLs for GetLog / GetDiagnostics that name none (statusServer.uploads). */
  uploads?: UploadLocations;
  /** Devices ThingsBoard renamed: a boot that renders an old name gets the current one. */
  renames?: DeviceRenames;
}

export class OcppConnector implements CallHandler {
  readonly name: string;
  readonly uplinkCounters: UplinkCounters = newUplinkCounters();
  readonly protocolCounters = newProtocolCounters();
  /** Frames by version, direction, type and action; CALLERRORs by code. */
  readonly traffic = new TrafficCounters();
  readonly rpcCounters = newRpcCounters();
  private readonly deps: ConnectorDeps;
  private readonly logger: Logger;
  private readonly table: RouteTable;
  private readonly registry: DeviceRegistry;
  private readonly announcer: DeviceAnnouncer;
  /** The listener and its security lifecycle (replaced together when centralSystem changes). */
  private readonly endpoint: CentralSystemEndpoint<Route>;
  private readonly live = new Map<string, Live>();
  private readonly bySession = new WeakMap<ChargePointSession, Live>();
  private readonly now: () => Date;
  private readonly warnings: LogSummary;
  private readonly failures: FeatureFailures;
  private readonly inspector: ConnectionInspector;
  private readonly commands: DeviceCommands<Live>;
  private readonly answering: CallAnswering;

  constructor(deps: ConnectorDeps) {
    this.deps = deps;
    this.name = deps.config.name;
    this.logger = deps.logger.child({ connector: deps.config.name });
    this.now = deps.now ?? (() => new Date());
    this.warnings = deps.warnings ?? new LogSummary({ logger: this.logger });
    this.failures = new FeatureFailures(this.warnings);
    this.table = new RouteTable(deps.config, {
      state: deps.state,
      thingsboard: deps.thingsboard,
      counters: this.uplinkCounters,
      logger: this.logger,
      warnings: this.warnings,
      now: this.now,
    });
    this.registry = new DeviceRegistry(deps.state, this.logger);
    this.announcer = new DeviceAnnouncer({
      registry: this.registry,
      outbox: deps.outbox,
      logger: this.logger,
      warnings: this.warnings,
      announceUnbootedAfter: deps.config.centralSystem.announceUnbootedAfter,
      isCurrent: (live) => this.live.get(live.session.id) === live,
      renames: deps.renames,
    });
    this.inspector = new ConnectionInspector({
      connector: this.name,
      live: this.live,
      identityOf: (id) => this.registry.identityOf(id),
      logger: this.logger,
      now: this.now,
    });
    this.commands = new DeviceCommands<Live>({
      connector: this.name,
      registry: this.registry,
      live: this.live,
      viewOf: (live) => this.answering.viewOf(live),
      features: () => this.table.csms.all,
      failures: this.failures,
      // Through this connector: a new configuration replaces the security component.
      security: {
        isRpc: (method) => this.endpoint.security.isRpc(method),
        onRpc: (method, params, target) => this.endpoint.security.onRpc(method, params, target),
      },
      counters: this.rpcCounters,
      logger: this.logger,
      warnings: this.warnings,
      uploads: deps.uploads,
    });
    this.answering = new CallAnswering({
      config: () => this.deps.config,
      outbox: deps.outbox,
      state: deps.state,
      announcer: this.announcer,
      failures: this.failures,
      liveOf: (id) => this.live.get(id),
      handlers: () => this.endpoint.security.handlers,
      afterAnswerFailed: (chargePointId, action, err) => {
        this.protocolCounters.handlerErrors++;
        this.logger.error({ chargePointId, action, err }, 'work after answering a call failed');
      },
      now: this.now,
    });
    this.endpoint = new CentralSystemEndpoint<Route>({
      config: () => this.deps.config,
      state: deps.state,
      validators: deps.validators,
      logger: this.logger,
      warnings: this.warnings,
      handler: this,
      protocolCounters: this.protocolCounters,
      traffic: this.traffic,
      resolveChargePoint: (id, peer) => this.table.resolve(id, peer),
      onSession: (session, route, handshake) => this.onSession(session, route, handshake),
      activityOf: (session) => this.bySession.get(session)?.activity,
      tracedUntil: (id) => this.inspector.tracedUntil(id),
      reportTelemetry: (id, values) => this.reportTelemetry(id, values),
    });
  }

  /** Starts the features, then listens; resolves with the bound port. */
  async start(): Promise<number> {
    this.registry.load();
    await this.table.start();
    return this.endpoint.start();
  }

  /** Stops accepting and closes every charge point connection (their disconnects go to the outbox). */
  async stop(): Promise<void> {
    this.table.stop();
    await this.endpoint.stop();
  }

  /** The configuration in force (it changes with remote configuration). */
  get configuration(): OcppConnectorConfig {
    return this.deps.config;
  }

  get serverCounters(): CentralSystemEndpoint<Route>['counters'] {
    return this.endpoint.counters;
  }

  /** The security lifecycle's counters (refused downgrades are in serverCounters). */
  get securityCounters(): CentralSystemEndpoint<Route>['securityCounters'] {
    return this.endpoint.securityCounters;
  }

  /** Handshakes waiting for their admission decision now. */
  get pendingAdmissions(): number {
    return this.endpoint.pendingAdmissions;
  }

  get connectionCount(): number {
    return this.live.size;
  }

  /** Counters of the Central System's decisions, per feature, and of features that failed, per stage. */
  get csmsCounters(): Record<string, Record<string, number>> {
    return { ...this.table.counters(), failures: { ...this.failures.counters } };
  }

  /** Open transactions of a charge point (read-only views; the StateStore holds them). */
  openTransactions(chargePointId: string): Promise<TransactionView[]> {
    return this.table.csms.sessions.openTransactions(chargePointId);
  }

  /** Open transactions of a live charge point, as the status page shows them (no store read). */
  liveTransactions(chargePointId: string): TransactionView[] {
    const view = this.live.get(chargePointId)?.view;
    return view ? this.table.csms.sessions.transactionsOf(view) : [];
  }

  /** Devices announced on live connections, for re-announcing after an MQTT reconnect. */
  announcedDevices(): DeviceIdentity[] {
    const out: DeviceIdentity[] = [];
    for (const l of this.live.values()) if (l.announced) out.push(l.announced);
    return out;
  }

  /** A device (or charge point id) with a live charge point on this connector. */
  ownsDevice(device: string): boolean {
    return this.commands.liveOf(device) !== undefined;
  }

  /** A device this connector has known, live or not (for ThingsBoard's decisions about offline devices). */
  remembersDevice(device: string): boolean {
    return this.commands.chargePointIdOf(device) !== undefined;
  }

  /** RPCs that work while the charge point is offline (resetSecurityProfile), for any device name. */
  handlesOfflineRpc(method: string): boolean {
    return this.endpoint.security.isOfflineRpc(method);
  }

  /** Shared attributes of the gateway device itself (e.g. `ocppIdTokens`). */
  onGatewayAttributes(update: SharedAttributesUpdate): void {
    for (const f of this.table.csms.all)
      this.failures.run('onGatewayAttributes', { feature: f.name }, () => f.onGatewayAttributes?.(update));
  }

  /** Every (re)connect to ThingsBoard (and a new configuration while connected). */
  onThingsBoardConnected(): void {
    for (const f of this.table.csms.all)
      this.failures.run('onThingsBoardConnected', { feature: f.name }, () => f.onThingsBoardConnected?.());
  }

  // ---- what an operator sees (status page, JSON API, /metrics) ----

  connectionsByVersion(): Partial<Record<OcppVersion, number>> {
    return this.inspector.connectionsByVersion();
  }

  chargePoints(): ChargePointView[] {
    return this.inspector.chargePoints();
  }

  chargePoint(id: string): ChargePointDetail | undefined {
    return this.inspector.chargePoint(id);
  }

  trace(id: string, minutes: number): Date | undefined {
    return this.inspector.trace(id, minutes);
  }

  // ---- charge point → ThingsBoard ----

  private onSession(session: ChargePointSession, route: Route, handshake: HandshakeInfo): void {
    const { peer } = handshake;
    const id = session.id;
    const previous = this.live.get(id);
    const activity = new ChargePointActivity(peer, this.now().getTime(), handshake.securityProfile);
    const live: Live = { session, route, announced: undefined, activity };
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
    this.logger.info(
      {
        chargePointId: id,
        ocppVersion: session.spec.version,
        securityProfile: handshake.securityProfile,
        remoteAddress: peer.address,
        remotePort: peer.port,
      },
      'charge point connected',
    );
    this.endpoint.security.onConnected(id, handshake.securityProfile);
    session.socket.once('close', (code: number, reason: Buffer) =>
      this.onSessionClosed(live, code, reason.toString('utf8')),
    );
    this.announcer.connected(live);
    if (route.features.wantsConnections) route.features.connected(this.answering.viewOf(live), this.failures);
  }

  private onSessionClosed(live: Live, code: number, reason: string): void {
    const { session } = live;
    const replaced = this.live.get(session.id) !== live;
    this.logger.info(
      {
        chargePointId: session.id,
        ocppVersion: session.spec.version,
        closeCode: code,
        closeReason: reason.slice(0, 123),
        ...(replaced ? { replaced: true } : {}),
      },
      'charge point disconnected',
    );
    if (replaced) return; // the device stays connected on the newer connection
    this.live.delete(session.id);
    this.announcer.closed(live);
  }

  handleCall(session: ChargePointSession, action: string, payload: Record<string, unknown>): unknown {
    const live = this.bySession.get(session);
    if (!live || (!ANSWERS[session.spec.version].has(action) && !this.endpoint.security.handlers.has(action)))
      throw new OcppError('NotImplemented', `action "${action}" is not handled`);
    return this.answering.handleCall(live, action, payload);
  }

  /** Every CALL to a charge point passes the security component (password changes). */
  interceptCall(
    session: ChargePointSession,
    action: string,
    payload: unknown,
    send: () => Promise<unknown>,
  ): Promise<unknown> {
    return this.endpoint.security.interceptCall(session, action, payload, send);
  }

  /** Telemetry of a charge point's device from outside its messages (a log it uploaded, signing). */
  reportTelemetry(chargePointId: string, values: Record<string, unknown>): void {
    const records = this.announcer.telemetry(
      chargePointId,
      this.now().getTime(),
      values,
      this.live.get(chargePointId),
    );
    this.announcer.persist(records, chargePointId);
  }

  /** OCPP 2.1 SEND (e.g. NotifyPeriodicEventStream): mapped like a CALL, never answered. */
  handleSend(session: ChargePointSession, action: string, payload: Record<string, unknown>): void {
    const live = this.bySession.get(session);
    if (live) this.answering.handleSend(live, action, payload);
  }

  // ---- ThingsBoard → charge point (commands.ts) ----

  /** A shared attribute update for one of this connector's devices. */
  onAttributeUpdate(device: string, data: Record<string, unknown>): void {
    this.commands.onAttributeUpdate(device, data);
  }

  /**
   * An RPC for a device (by device name, or by charge point id); resolves with the reply data for
   * ThingsBoard, or undefined when the config entry says `withResponse: false`.
   */
  onRpc(device: string, method: string, params: unknown): Promise<RpcReplyData | undefined> {
    return this.commands.onRpc(device, method, params);
  }

  // ---- changes made in ThingsBoard: configuration (remote configuration), device renames ----

  /**
   * Takes a new configuration of this connector: routes and Central System features are rebuilt
   * (routes.ts) and apply to the next message of every live charge point; with `restartListener`
   * (centralSystem changed) the listener is closed and opened again with the new settings, and
   * the security component with it (its rules, TLS files and signing CA may have changed; stored
   * passwords and recorded profiles live in the state store and stay). Resolves with the port.
   */
  async applyConfig(
    next: OcppConnectorConfig,
    opts: { restartListener: boolean },
  ): Promise<number | undefined> {
    await this.table.replace(next);
    this.deps.config = next;
    reroute(this.live.values(), this.table, this.logger);
    return opts.restartListener ? this.endpoint.restart() : undefined;
  }

  /**
   * ThingsBoard renamed device `from` to `to`: every charge point remembered or live under the old
   * name takes the new one (a live one is announced under it, so its RPCs reach this gateway).
   */
  renameDevice(from: string, to: string): number {
    return this.announcer.renameAll(this.live.values(), from, to);
  }

  /** ThingsBoard deleted `name`: a live charge point under it announces it again with its next data. */
  deviceDeleted(name: string): number {
    let n = 0;
    for (const l of this.live.values()) if (this.announcer.deleted(l, name)) n++;
    return n;
  }
}
