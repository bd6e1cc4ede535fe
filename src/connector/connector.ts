/**
 * The OCPP connector: one Central System endpoint (one ocpp.json), the charge points connected
 * to it, and the mapping in both directions. The flow for every CALL is: frame → mapped records →
 * committed to the outbox → CALLRESULT, so a charge point is only told "accepted" for data that
 * is already safe.
 */
import type { OcppConnectorConfig } from '../config/types.js';
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import { OcppError } from '../ocpp/errors.js';
import {
  CentralSystemServer,
  HandshakeRefusal,
  type HandshakeInfo,
  type PeerAddress,
} from '../ocpp/server.js';
import { newProtocolCounters, type CallHandler, type ChargePointSession } from '../ocpp/session.js';
import { TrafficCounters } from '../ocpp/traffic.js';
import type { ValidatorSet } from '../ocpp/validator.js';
import type { OcppVersion } from '../ocpp/versions.js';
import type { DeviceIdentity, NewRecord, Outbox, StateStore } from '../outbox/types.js';
import { newSecurityCounters } from '../security/counters.js';
import { ChargePointSecurity } from '../security/index.js';
import { ChargePointActivity } from './activity.js';
import { addressRefusal } from './address-filter.js';
import { ANSWERS } from './answers.js';
import { DeviceCommands } from './commands.js';
import { DevicePresence } from './presence.js';
import { DEFAULT_RPC_TIMEOUT_MS, type RpcReplyData } from './downlink.js';
import { buildRoutes, reroute, type Route } from './reconfigure.js';
import { DeviceRegistry } from './registry.js';
import type { DeviceRenames } from './renames.js';
import { mappingScope, type UplinkCounters } from './uplink.js';
import type { UploadLocations } from './upload-location.js';
import { TrafficObserver } from './observer.js';
import { ConnectionInspector } from './inspector.js';
import { newRpcCounters, type ChargePointDetail, type ChargePointView } from './views.js';

export interface ConnectorDeps {
  config: OcppConnectorConfig;
  outbox: Outbox;
  state: StateStore;
  validators: ValidatorSet;
  logger: Logger;
  /** Per-message warnings, summarised; the gateway shares one among its stages. */
  warnings?: LogSummary;
  now?: () => Date;
  /** Upload URLs for GetLog / GetDiagnostics that name none (statusServer.uploads). */
  uploads?: UploadLocations;
  /** Devices ThingsBoard renamed: a boot that renders an old name gets the current one. */
  renames?: DeviceRenames;
}

interface Live {
  session: ChargePointSession;
  route: Route;
  /** The identity announced to ThingsBoard with v1/gateway/connect on this connection, if any. */
  announced: DeviceIdentity | undefined;
  activity: ChargePointActivity;
}

export class OcppConnector implements CallHandler {
  readonly name: string;
  readonly uplinkCounters: UplinkCounters = {
    mapped: 0,
    skipped: 0,
    skippedNotFinite: 0,
    receiveTimeUsed: 0,
    attributes: 0,
    timeseries: 0,
    messages: 0,
  };
  readonly protocolCounters = newProtocolCounters();
  /** Frames by version, direction, type and action; CALLERRORs by code. */
  readonly traffic = new TrafficCounters();
  readonly rpcCounters = newRpcCounters();
  private readonly deps: ConnectorDeps;
  private readonly logger: Logger;
  private routes: Route[];
  private readonly registry: DeviceRegistry;
  private server: CentralSystemServer<Route>;
  /** Replaced with the listener when the configuration changes (rules, TLS files, signing CA). */
  private security: ChargePointSecurity;
  private readonly securityTally = newSecurityCounters();
  private readonly live = new Map<string, Live>();
  private readonly bySession = new WeakMap<ChargePointSession, Live>();
  private readonly now: () => Date;
  private readonly warnings: LogSummary;
  private readonly inspector: ConnectionInspector;
  private readonly commands: DeviceCommands;
  private readonly presence: DevicePresence;

  constructor(deps: ConnectorDeps) {
    this.deps = deps;
    this.name = deps.config.name;
    this.logger = deps.logger.child({ connector: deps.config.name });
    this.now = deps.now ?? (() => new Date());
    this.warnings = deps.warnings ?? new LogSummary({ logger: this.logger });
    this.routes = buildRoutes(deps.config, this.uplinkCounters, this.logger, this.warnings);
    this.registry = new DeviceRegistry(deps.state, this.logger);
    this.presence = new DevicePresence({
      registry: this.registry,
      live: this.live,
      outbox: deps.outbox,
      warnings: this.warnings,
      logger: this.logger,
      renames: deps.renames,
    });
    this.security = this.createSecurity(deps.config);
    this.commands = new DeviceCommands({
      connector: this.name,
      liveDevice: (device) => {
        const id = this.registry.chargePointOf(device);
        const live = id === undefined ? undefined : this.live.get(id);
        return live && { session: live.session, entry: live.route.entry };
      },
      chargePointNamed: (device) => this.registry.chargePointNamed(device),
      // Through this connector: a new configuration replaces the security component.
      security: {
        isRpc: (method) => this.security.isRpc(method),
        onRpc: (method, params, target) => this.security.onRpc(method, params, target),
      },
      counters: this.rpcCounters,
      logger: this.logger,
      warnings: this.warnings,
      uploads: deps.uploads,
    });
    this.inspector = new ConnectionInspector({
      connector: this.name,
      live: this.live,
      identityOf: (id) => this.registry.identityOf(id),
      logger: this.logger,
      now: this.now,
    });
    this.server = this.createServer();
  }

  /** The security lifecycle for `config`, counting where its predecessors did. */
  private createSecurity(config: OcppConnectorConfig): ChargePointSecurity {
    return new ChargePointSecurity({
      config,
      state: this.deps.state,
      logger: this.logger,
      emitTelemetry: (id, values) => this.emitTelemetry(id, values),
      rpcTimeoutMs: DEFAULT_RPC_TIMEOUT_MS,
      counters: this.securityTally,
    });
  }

  private createServer(): CentralSystemServer<Route> {
    const observer = new TrafficObserver({
      counters: this.traffic,
      logger: this.logger,
      activityOf: (session) => this.bySession.get(session)?.activity,
      tracedUntil: (id) => this.inspector.tracedUntil(id),
      warnings: this.warnings,
    });
    return new CentralSystemServer<Route>({
      config: this.deps.config.centralSystem,
      logger: this.logger,
      validators: this.deps.validators,
      handler: this,
      protocolCounters: this.protocolCounters,
      resolveChargePoint: (id, peer) => this.resolveRoute(id, peer),
      onSession: (session, route, handshake) => this.onSession(session, route, handshake),
      admit: (request) => this.security.admit(request),
      warnings: this.warnings,
      tap: observer.tap,
    });
  }

  /** Starts listening; resolves with the bound port. */
  async start(): Promise<number> {
    this.registry.load();
    return this.listen();
  }

  private async listen(): Promise<number> {
    const port = await this.server.start();
    this.security.start((options) => this.server.setSecureContext(options));
    const { host } = this.deps.config.centralSystem;
    const scheme = this.deps.config.centralSystem.connection.type === 'tls' ? 'wss' : 'ws';
    this.logger.info({ url: `${scheme}://${host}:${port}/` }, 'central system listening');
    return port;
  }

  /** Stops accepting and closes every charge point connection (their disconnects go to the outbox). */
  async stop(): Promise<void> {
    await this.security.stop();
    await this.server.stop();
  }

  /** The configuration in force (it changes with remote configuration). */
  get configuration(): OcppConnectorConfig {
    return this.deps.config;
  }

  get serverCounters(): CentralSystemServer<Route>['counters'] {
    return this.server.counters;
  }

  /** The security lifecycle's counters (refused downgrades are in serverCounters). */
  get securityCounters(): ChargePointSecurity['counters'] {
    return this.securityTally;
  }

  /** Handshakes waiting for their admission decision now. */
  get pendingAdmissions(): number {
    return this.server.pendingAdmissions;
  }

  get connectionCount(): number {
    return this.live.size;
  }

  /** Devices announced on live connections, for re-announcing after an MQTT reconnect. */
  announcedDevices(): DeviceIdentity[] {
    const out: DeviceIdentity[] = [];
    for (const l of this.live.values()) if (l.announced) out.push(l.announced);
    return out;
  }

  ownsDevice(device: string): boolean {
    return this.registry.chargePointOf(device) !== undefined;
  }

  /** RPCs that work while the charge point is offline (resetSecurityProfile), for any device name. */
  handlesOfflineRpc(method: string): boolean {
    return this.security.isOfflineRpc(method);
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

  /**
   * The first entry whose idRegexpPattern matches decides (as upstream): when its `host`/`port`
   * filters refuse the remote address, the charge point is refused, not tried against later entries.
   */
  private resolveRoute(id: string, peer: PeerAddress): Route | HandshakeRefusal | undefined {
    const route = this.routes.find((r) => r.entry.idRegexp.test(id));
    if (!route) return undefined;
    const refusal = addressRefusal(route.entry, peer);
    return refusal === undefined ? route : new HandshakeRefusal(refusal);
  }

  // ---- charge point → ThingsBoard ----

  private onSession(session: ChargePointSession, route: Route, handshake: HandshakeInfo): void {
    const { peer } = handshake;
    const previous = this.live.get(session.id);
    const activity = new ChargePointActivity(peer, this.now().getTime(), handshake.securityProfile);
    const live: Live = { session, route, announced: undefined, activity };
    this.live.set(session.id, live);
    this.bySession.set(session, live);
    if (previous) {
      this.logger.info(
        { chargePointId: session.id },
        'charge point reconnected: the new connection replaces the old',
      );
      if (previous.announced) this.registry.markGone(session.id, previous.announced.name);
      previous.session.close(1000, 'replaced by a new connection');
    }
    this.logger.info(
      {
        chargePointId: session.id,
        ocppVersion: session.spec.version,
        securityProfile: handshake.securityProfile,
        remoteAddress: peer.address,
        remotePort: peer.port,
      },
      'charge point connected',
    );
    this.security.onConnected(session.id, handshake.securityProfile);
    session.socket.once('close', (code: number, reason: Buffer) =>
      this.onSessionClosed(live, code, reason.toString('utf8')),
    );
    const remembered = this.registry.remembered(session.id);
    if (remembered) this.presence.persist(this.presence.announce(live, remembered), session.id);
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
    if (live.announced) {
      this.registry.markGone(session.id, live.announced.name);
      this.presence.persist([{ kind: 'disconnect', device: live.announced.name, body: '{}' }], session.id);
    }
  }

  handleCall(session: ChargePointSession, action: string, payload: Record<string, unknown>): unknown {
    const live = this.bySession.get(session);
    const hook = this.security.handlers.get(action);
    const answer = ANSWERS[session.spec.version].get(action);
    if (!live || (!answer && !hook))
      throw new OcppError('NotImplemented', `action "${action}" is not handled`);
    const records: NewRecord[] = [];
    if (action === 'BootNotification') {
      records.push(
        ...this.presence.announce(live, this.presence.bootIdentity(live, live.route.entry, payload)),
      );
    } else if (action === 'StatusNotification') {
      live.activity.noteStatus(payload, this.now());
    }
    records.push(...this.mapData(live, action, payload));
    let response: Record<string, unknown>;
    let afterAnswer: (() => void) | undefined;
    if (hook) {
      const outcome = hook({ session, payload, now: this.now });
      response = outcome.response;
      afterAnswer = outcome.afterAnswer;
      if (outcome.telemetry)
        records.push(
          ...this.presence.telemetry(session.id, outcome.telemetry.ts, outcome.telemetry.values, live),
        );
    } else {
      response = (answer as NonNullable<typeof answer>)({
        payload,
        heartbeatInterval: this.deps.config.centralSystem.heartbeatInterval,
        nextTransactionId: () => this.deps.state.nextTransactionId(),
        now: this.now,
      });
    }
    // setImmediate: after the session has written the answer (it does so in a microtask).
    const answered = (): Record<string, unknown> => {
      if (afterAnswer) setImmediate(() => this.guardedAfterAnswer(session, action, afterAnswer));
      return response;
    };
    if (records.length === 0) return answered();
    // Answer only once the records are committed: the charge point may then forget them.
    return this.deps.outbox.append(records).then(answered);
  }

  /** Work that follows an answer runs outside the session's guard, so it has its own. */
  private guardedAfterAnswer(session: ChargePointSession, action: string, work: () => void): void {
    try {
      work();
    } catch (err) {
      this.protocolCounters.handlerErrors++;
      this.logger.error({ chargePointId: session.id, action, err }, 'work after answering a call failed');
    }
  }

  /** Every CALL to a charge point passes the security component (password changes). */
  interceptCall(
    session: ChargePointSession,
    action: string,
    payload: unknown,
    send: () => Promise<unknown>,
  ): Promise<unknown> {
    return this.security.interceptCall(session, action, payload, send);
  }

  /** Telemetry of a charge point's device from outside its connection (a log it uploaded). */
  reportTelemetry(chargePointId: string, values: Record<string, unknown>): void {
    this.emitTelemetry(chargePointId, values);
  }

  private emitTelemetry(chargePointId: string, values: Record<string, unknown>): void {
    this.presence.persist(
      this.presence.telemetry(chargePointId, this.now().getTime(), values),
      chargePointId,
    );
  }

  /** OCPP 2.1 SEND (e.g. NotifyPeriodicEventStream): mapped like a CALL, never answered. */
  handleSend(session: ChargePointSession, action: string, payload: Record<string, unknown>): void {
    const live = this.bySession.get(session);
    if (live) this.presence.persist(this.mapData(live, action, payload), session.id);
  }

  /** The records of one message's datapoints, preceded by a connect if the device is not yet announced. */
  private mapData(live: Live, action: string, payload: Record<string, unknown>): NewRecord[] {
    const scope = mappingScope(action, payload, this.deps.config.centralSystem.maxJsonDepth);
    const data = live.route.mapper.map(action, scope, this.presence.deviceOf(live), this.now().getTime());
    return this.presence.withAnnounce(live, data);
  }

  // ---- ThingsBoard → charge point ----

  /** A shared attribute update for one of this connector's devices. */
  onAttributeUpdate(device: string, data: Record<string, unknown>): void {
    this.commands.onAttributeUpdate(device, data);
  }

  /** An RPC for a device (see DeviceCommands); undefined when no reply is expected. */
  onRpc(device: string, method: string, params: unknown): Promise<RpcReplyData | undefined> {
    return this.commands.onRpc(device, method, params);
  }

  // ---- changes made in ThingsBoard: configuration (remote configuration), device renames ----

  /**
   * Takes a new configuration of this connector: mappings apply to the next message of every live
   * charge point (reconfigure.ts); with `restartListener` (centralSystem changed) the listener is
   * closed and opened again with the new settings. Resolves with the port listened on.
   */
  async applyConfig(
    next: OcppConnectorConfig,
    opts: { restartListener: boolean },
  ): Promise<number | undefined> {
    this.deps.config = next;
    this.routes = buildRoutes(next, this.uplinkCounters, this.logger, this.warnings);
    reroute(this.live.values(), this.routes, this.logger);
    if (!opts.restartListener) return undefined;
    // centralSystem changed: its security rules, TLS files and signing CA may have too. Stored
    // passwords and recorded profiles live in the state store and stay.
    await this.security.stop();
    await this.server.stop();
    this.security = this.createSecurity(next);
    this.server = this.createServer();
    return this.listen();
  }

  /** ThingsBoard renamed device `from` to `to` (see DevicePresence.rename). */
  renameDevice(from: string, to: string): number {
    return this.presence.rename(from, to);
  }

  /** ThingsBoard deleted `name`: a live charge point under it announces it again with its next data. */
  deviceDeleted(name: string): number {
    return this.presence.deleted(name);
  }
}
