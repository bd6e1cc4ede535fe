/**
 * The Central System's WebSocket endpoint: the handshake decides everything — charge point id
 * from the URL, which chargePoints entry applies (404 if none), authentication (401), and the
 * OCPP version by subprotocol — before a session exists.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CentralSystemConfig } from '../config/types.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { AdmissionRequest } from '../security/admission.js';
import { tlsServerOptions } from '../security/tls.js';
import { AdmissionQueue } from './admission-queue.js';
import { authenticate, challengeHeader, type AuthResult } from './auth.js';
import { compressed, perMessageDeflate, releaseInflate } from './compression.js';
import {
  chargePointIdFromUrl,
  HandshakeRefusal,
  newServerCounters,
  offeredProtocols,
  refuse,
  type HandshakeInfo,
  type PeerAddress,
  type ServerCounters,
} from './handshake.js';
import { RefusalLog } from './refusal-log.js';
import { ChargePointSession, type CallHandler, type ProtocolCounters } from './session.js';
import type { FrameTap } from './tap.js';
import type { ValidatorSet } from './validator.js';
import { securityProfileOf, servedVersions } from './security-profile.js';
import { OCPP_VERSIONS, VERSION_PREFERENCE, type OcppVersion } from './versions.js';

export {
  chargePointIdFromUrl,
  HandshakeRefusal,
  type HandshakeInfo,
  type PeerAddress,
  type ServerCounters,
} from './handshake.js';

export interface CentralSystemServerOptions<Route> {
  config: CentralSystemConfig;
  logger: Logger;
  validators: ValidatorSet;
  handler: CallHandler;
  protocolCounters: ProtocolCounters;
  /** The configuration that applies to a charge point id, or undefined / a refusal (→ HTTP 404). */
  resolveChargePoint(id: string, peer: PeerAddress): Route | HandshakeRefusal | undefined;
  /** A new session whose handshake completed with a common OCPP version. */
  onSession(session: ChargePointSession, route: Route, handshake: HandshakeInfo): void;
  /**
   * The authentication decision (stored credentials, no downgrade); may be asynchronous. Default:
   * the configured security rules.
   */
  admit?(request: AdmissionRequest): AuthResult | Promise<AuthResult>;
  /** Handshakes that may wait for an asynchronous admission at once; more get HTTP 503. Default 512. */
  maxPendingAdmissions?: number;
  /** How long a handshake may wait for its admission before HTTP 503. Default 10 s. */
  admissionTimeoutMs?: number;
  /** Where per-message warnings are summarised. */
  warnings?: LogSummary;
  /** Sees every frame of every session. */
  tap?: FrameTap;
}

interface Admission {
  version: OcppVersion | undefined;
}

export class CentralSystemServer<Route> {
  readonly counters: ServerCounters = newServerCounters();
  private readonly opts: CentralSystemServerOptions<Route>;
  private readonly http: Server;
  private readonly https: HttpsServer | undefined;
  /** Handshakes waiting for an asynchronous admission decision. */
  private readonly admissionQueue: AdmissionQueue;
  private readonly wss: WebSocketServer;
  private readonly admissions = new WeakMap<IncomingMessage, Admission>();
  private readonly awaitingPong = new Set<WebSocket>();
  private pingTimer: NodeJS.Timeout | undefined;
  /** Refused handshakes: the first per reason in full, a flood summarised (see refusal-log.ts). */
  private readonly refusals: RefusalLog;

  constructor(opts: CentralSystemServerOptions<Route>) {
    this.opts = opts;
    this.refusals = new RefusalLog(opts.logger);
    this.admissionQueue = new AdmissionQueue(opts.maxPendingAdmissions, opts.admissionTimeoutMs);
    const { connection } = opts.config;
    this.https = connection.type === 'tls' ? createHttpsServer(tlsServerOptions(connection)) : undefined;
    this.http = this.https ?? createHttpServer();
    if (connection.type === 'tls') {
      this.http.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        this.counters.rejectedTls++;
        // The handshake failed before any HTTP request, so the charge point id is not known yet.
        this.refusals.refused('tls', {
          remoteAddress: socket.remoteAddress,
          reason: err.code ?? err.message,
        });
      });
    }
    this.http.on('request', (_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
      res.end('This is an OCPP Central System: connect with a WebSocket.\n');
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.config.maxMessageSize,
      clientTracking: true,
      perMessageDeflate: perMessageDeflate(opts.config.compression),
      handleProtocols: (_protocols, req) => this.admissions.get(req)?.version ?? false,
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
  }

  /** Resolves with the bound port once listening. */
  async start(): Promise<number> {
    const { host, port } = this.opts.config;
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      // A deep accept queue: after an outage thousands of charge points reconnect at once.
      this.http.listen({ port, host, backlog: 4096 }, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.http.on('error', (err) => this.opts.logger.error({ err }, 'central system server error'));
    const interval = this.opts.config.pingInterval * 1000;
    if (interval > 0) {
      this.pingTimer = setInterval(() => this.pingAll(), interval);
      this.pingTimer.unref();
    }
    const address = this.http.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  /** Stops accepting, closes every charge point socket with a normal close, and waits for them. */
  async stop(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const closing = [...this.wss.clients].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1001, 'Central System going away');
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    const serverClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    await Promise.all(closing);
    this.http.closeAllConnections?.();
    await serverClosed;
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    // What was only counted is reported: a stop must not hide a flood of refusals.
    this.refusals.close();
  }

  get connectionCount(): number {
    return this.wss.clients.size;
  }

  /** Renewed certificates: new connections get them, open ones keep theirs. */
  setSecureContext(options: SecureContextOptions): void {
    if (!this.https) throw new Error('this central system does not serve TLS');
    this.https.setSecureContext(options);
  }

  private pingAll(): void {
    for (const ws of this.wss.clients) {
      if (this.awaitingPong.has(ws)) {
        // No pong since the last ping: the peer is gone without a close (cable pulled, NAT expired).
        this.awaitingPong.delete(ws);
        ws.terminate();
        continue;
      }
      this.awaitingPong.add(ws);
      ws.ping();
    }
  }

  /**
   * Anyone can send a handshake, before any authentication: whatever it holds, an exception here
   * is answered with 500, counted and logged, and never reaches the process.
   */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.guarded(req, socket, () => this.handshake(req, socket, head));
  }

  /** Runs one step of a handshake (also after an asynchronous admission) under the guard. */
  private guarded(req: IncomingMessage, socket: Duplex, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.handshakeFailed(req, socket, err);
    }
  }

  private handshakeFailed(
    req: IncomingMessage,
    socket: Duplex,
    err: unknown,
    message = 'handling a handshake failed',
  ): void {
    this.counters.handshakeErrors++;
    this.opts.logger.error({ err, url: String(req.url).slice(0, 256) }, message);
    if (!socket.destroyed) refuse(socket, 500, 'Internal Server Error');
  }

  private handshake(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { logger, config } = this.opts;
    socket.on('error', (err) => logger.debug({ err }, 'handshake socket error'));
    const remoteAddress = req.socket.remoteAddress ?? '';
    const id = chargePointIdFromUrl(req.url);
    if (id !== undefined && id.length > config.maxChargePointIdLength) {
      // Checked before any pattern sees it: ids are attacker-chosen (see README, Security and limits).
      this.counters.rejectedBadRequest++;
      this.refusals.refused('id-too-long', {
        chargePointId: id.slice(0, 64) + '…',
        length: id.length,
        maxChargePointIdLength: config.maxChargePointIdLength,
        remoteAddress,
        reason: 'charge point id too long',
      });
      return refuse(socket, 400, 'Bad Request');
    }
    if (!id) {
      this.counters.rejectedNotFound++;
      this.refusals.refused('no-id', {
        url: String(req.url).slice(0, 256),
        remoteAddress,
        reason: 'no charge point id in the URL',
      });
      return refuse(socket, 404, 'Not Found');
    }
    const peer = { address: remoteAddress, port: req.socket.remotePort ?? 0 };
    const route = this.opts.resolveChargePoint(id, peer);
    if (route instanceof HandshakeRefusal) {
      this.counters.rejectedAddress++;
      this.refusals.refused('address', {
        chargePointId: id,
        remoteAddress,
        remotePort: peer.port,
        reason: route.reason,
      });
      return refuse(socket, 404, 'Not Found');
    }
    if (route === undefined) {
      this.counters.rejectedNotFound++;
      this.refusals.refused('not-found', {
        chargePointId: id,
        remoteAddress,
        reason: 'no chargePoints entry matches the id',
      });
      return refuse(socket, 404, 'Not Found');
    }
    const profile = securityProfileOf(socket, config.connection, id);
    if (!profile.ok) {
      // A TLS policy refusal (a legacy suite on TLS 1.2) is a TLS failure, not a bad credential.
      if (profile.kind === 'tls') this.counters.rejectedTls++;
      else this.counters.rejectedAuth++;
      const { kind, reason, certificateCn } = profile;
      this.refusals.refused(
        kind === 'tls' ? 'tls-policy' : 'client-certificate',
        { chargePointId: id, remoteAddress, certificateCn, reason },
        profile.message,
      );
      return refuse(socket, 401, 'Unauthorized');
    }
    const { securityProfile } = profile;
    const handshake: HandshakeInfo = { securityProfile, peer };
    if (this.opts.admit && this.admissionQueue.full) {
      return this.refuseBusy(socket, id, 'too many handshakes waiting for their admission');
    }
    const decision = this.opts.admit
      ? this.opts.admit({ chargePointId: id, req, securityProfile })
      : authenticate(config.security, req, id);
    if (!(decision instanceof Promise)) {
      this.admitted(decision, req, socket, head, id, route, handshake);
      return;
    }
    this.awaitAdmission(decision, req, socket, head, id, route, handshake);
  }

  /** A handshake waits for a decision that needs the state store (see AdmissionQueue). */
  private awaitAdmission(
    decision: Promise<AuthResult>,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    id: string,
    route: Route,
    handshake: HandshakeInfo,
  ): void {
    // The rest of the handshake runs under the same guard as its synchronous start; a charge
    // point that gave up meanwhile is not answered.
    const resume = (step: () => void): void => {
      if (!socket.destroyed) this.guarded(req, socket, step);
    };
    this.admissionQueue.wait(decision, {
      decided: (result) => resume(() => this.admitted(result, req, socket, head, id, route, handshake)),
      timedOut: () => resume(() => this.refuseBusy(socket, id, 'the admission decision took too long')),
      failed: (err) => this.handshakeFailed(req, socket, err, 'admission failed'),
    });
  }

  /** Handshakes waiting for their admission decision now. */
  get pendingAdmissions(): number {
    return this.admissionQueue.pending;
  }

  private refuseBusy(socket: Duplex, id: string, reason: string): void {
    this.counters.rejectedBusy++;
    this.refusals.refused('busy', { chargePointId: id, remoteAddress: socketAddress(socket), reason });
    refuse(socket, 503, 'Service Unavailable', { 'Retry-After': '10' });
  }

  private admitted(
    auth: AuthResult,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    id: string,
    route: Route,
    handshake: HandshakeInfo,
  ): void {
    const { logger, config } = this.opts;
    if (!auth.ok && auth.busy) return this.refuseBusy(socket, id, auth.reason);
    const remoteAddress = handshake.peer.address;
    if (!auth.ok && auth.ambiguous) {
      this.counters.rejectedBadRequest++;
      this.refusals.refused('ambiguous', { chargePointId: id, remoteAddress, reason: auth.reason });
      return refuse(socket, 400, 'Bad Request');
    }
    if (!auth.ok) {
      this.counters[auth.downgrade ? 'rejectedDowngrade' : 'rejectedAuth']++;
      this.refusals.refused(auth.downgrade ? 'downgrade' : 'auth', {
        chargePointId: id,
        remoteAddress,
        reason: auth.reason,
      });
      return refuse(socket, 401, 'Unauthorized', { 'WWW-Authenticate': challengeHeader(config.security) });
    }
    const offered = offeredProtocols(req);
    const served = servedVersions(socket, config.ocppVersions);
    let version = VERSION_PREFERENCE.find((v) => served.includes(v) && offered.has(v));
    if (offered.size === 0 && served.includes('ocpp1.6')) {
      version = 'ocpp1.6';
      this.refusals.refused('no-subprotocol', { chargePointId: id, remoteAddress });
    }
    this.admissions.set(req, { version: offered.size === 0 ? undefined : version });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (!version) {
        // OCPP-J 1.6 §3.2 / 2.0.1 part 4 §3.2: complete the handshake without a subprotocol, then close.
        this.counters.rejectedVersion++;
        this.refusals.refused('version', {
          chargePointId: id,
          remoteAddress,
          offered: [...offered].slice(0, 8),
          reason: 'no OCPP version in common',
        });
        ws.close(1002, 'no common OCPP version');
        return;
      }
      try {
        this.accept(ws, id, version, route, handshake);
      } catch (err) {
        this.counters.handshakeErrors++;
        logger.error({ chargePointId: id, err }, 'setting up a charge point connection failed');
        ws.terminate();
      }
    });
  }

  private accept(
    ws: WebSocket,
    id: string,
    version: OcppVersion,
    route: Route,
    handshake: HandshakeInfo,
  ): void {
    ws.on('pong', () => this.awaitingPong.delete(ws));
    ws.on('close', () => this.awaitingPong.delete(ws));
    ws.on('error', (err) => this.opts.logger.debug({ chargePointId: id, err }, 'charge point socket error'));
    if (compressed(ws)) ws.on('message', () => releaseInflate(ws));
    const session = new ChargePointSession({
      id,
      socket: ws,
      spec: OCPP_VERSIONS[version],
      validator: this.opts.validators.get(version),
      handler: this.opts.handler,
      logger: this.opts.logger,
      counters: this.opts.protocolCounters,
      maxQueuedCalls: this.opts.config.maxQueuedCalls,
      maxJsonDepth: this.opts.config.maxJsonDepth,
      sendBuffer: {
        maxBytes: this.opts.config.maxSendBufferSize,
        stallTimeoutMs: this.opts.config.sendStallTimeoutMs,
      },
      ...(this.opts.warnings ? { warnings: this.opts.warnings } : {}),
      ...(this.opts.tap ? { tap: this.opts.tap } : {}),
    });
    this.opts.onSession(session, route, handshake);
    // Counted once set up: a failure above is a handshakeError instead, never both.
    this.counters.accepted++;
  }
}

function socketAddress(socket: Duplex): string {
  return (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? '';
}
