/**
 * The endpoint charge points connect to: the WebSocket listener (ocpp/server.ts) with its frame
 * observer, and the security lifecycle that admits them and signs, rotates and renews
 * (src/security/). Both follow `centralSystem`, so a change there replaces them together; stored
 * passwords and recorded security profiles live in the state store and stay, and the counters of
 * the security lifecycle carry on across the change.
 */
import type { OcppConnectorConfig } from '../config/types.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import {
  CentralSystemServer,
  type HandshakeInfo,
  type HandshakeRefusal,
  type PeerAddress,
} from '../ocpp/server.js';
import type { CallHandler, ChargePointSession, ProtocolCounters } from '../ocpp/session.js';
import type { TrafficCounters } from '../ocpp/traffic.js';
import type { ValidatorSet } from '../ocpp/validator.js';
import type { StateStore } from '../outbox/types.js';
import { newSecurityCounters } from '../security/counters.js';
import { ChargePointSecurity } from '../security/index.js';
import { VerifiedLogins } from '../security/verified-logins.js';
import type { ChargePointActivity } from './activity.js';
import { DEFAULT_RPC_TIMEOUT_MS } from './downlink.js';
import { TrafficObserver } from './observer.js';

export interface EndpointDeps<Route> {
  /** The configuration in force (remote configuration replaces it). */
  config(): OcppConnectorConfig;
  state: StateStore;
  validators: ValidatorSet;
  logger: Logger;
  warnings: LogSummary;
  handler: CallHandler;
  protocolCounters: ProtocolCounters;
  traffic: TrafficCounters;
  resolveChargePoint(id: string, peer: PeerAddress): Route | HandshakeRefusal | undefined;
  onSession(session: ChargePointSession, route: Route, handshake: HandshakeInfo): void;
  activityOf(session: ChargePointSession): ChargePointActivity | undefined;
  tracedUntil(chargePointId: string): number | undefined;
  /** Telemetry of a charge point's device the security lifecycle produces (signing outcomes). */
  reportTelemetry(chargePointId: string, values: Record<string, unknown>): void;
}

export class CentralSystemEndpoint<Route> {
  private readonly deps: EndpointDeps<Route>;
  private server: CentralSystemServer<Route>;
  private securityNow: ChargePointSecurity;
  private readonly securityTally = newSecurityCounters();
  /** Logins verified so far: a new configuration keeps them (they follow the stored verifiers). */
  private readonly verifiedLogins = new VerifiedLogins();

  constructor(deps: EndpointDeps<Route>) {
    this.deps = deps;
    this.securityNow = this.createSecurity();
    this.server = this.createServer();
  }

  /** The security lifecycle in force (its answers, RPCs, call interception). */
  get security(): ChargePointSecurity {
    return this.securityNow;
  }

  get counters(): CentralSystemServer<Route>['counters'] {
    return this.server.counters;
  }

  /** The security lifecycle's counters (refused downgrades are in `counters`). */
  get securityCounters(): ChargePointSecurity['counters'] {
    return this.securityTally;
  }

  /** Handshakes waiting for their admission decision now. */
  get pendingAdmissions(): number {
    return this.server.pendingAdmissions;
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    const port = await this.server.start();
    this.securityNow.start((options) => this.server.setSecureContext(options));
    const { host, connection } = this.deps.config().centralSystem;
    const scheme = connection.type === 'tls' ? 'wss' : 'ws';
    this.deps.logger.info({ url: `${scheme}://${host}:${port}/` }, 'central system listening');
    return port;
  }

  /** Stops accepting and closes every charge point connection. */
  async stop(): Promise<void> {
    await this.securityNow.stop();
    await this.server.stop();
  }

  /** `centralSystem` changed: listener and security lifecycle are built again from the config. */
  async restart(): Promise<number> {
    await this.stop();
    this.securityNow = this.createSecurity();
    this.server = this.createServer();
    return this.start();
  }

  /** The security lifecycle for the configuration, counting where its predecessors did. */
  private createSecurity(): ChargePointSecurity {
    return new ChargePointSecurity({
      config: this.deps.config(),
      state: this.deps.state,
      logger: this.deps.logger,
      emitTelemetry: (id, values) => this.deps.reportTelemetry(id, values),
      rpcTimeoutMs: DEFAULT_RPC_TIMEOUT_MS,
      counters: this.securityTally,
      verifiedLogins: this.verifiedLogins,
    });
  }

  private createServer(): CentralSystemServer<Route> {
    const { deps } = this;
    const observer = new TrafficObserver({
      counters: deps.traffic,
      logger: deps.logger,
      activityOf: (session) => deps.activityOf(session),
      tracedUntil: (id) => deps.tracedUntil(id),
      warnings: deps.warnings,
    });
    return new CentralSystemServer<Route>({
      config: deps.config().centralSystem,
      logger: deps.logger,
      validators: deps.validators,
      handler: deps.handler,
      protocolCounters: deps.protocolCounters,
      resolveChargePoint: (id, peer) => deps.resolveChargePoint(id, peer),
      onSession: (session, route, handshake) => deps.onSession(session, route, handshake),
      admit: (request) => this.securityNow.admit(request),
      warnings: deps.warnings,
      tap: observer.tap,
    });
  }
}
