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
import type { SecurityProfile } from '../security/state.js';
import { tlsServerOptions } from '../security/tls.js';
import { authenticate, challengeHeader, identityOf, type AuthResult } from './auth.js';
import { ChargePointSession, type CallHandler, type ProtocolCounters } from './session.js';
import type { FrameTap } from './tap.js';
import type { ValidatorSet } from './validator.js';
import { OCPP_VERSIONS, VERSION_PREFERENCE, type OcppVersion } from './versions.js';

export interface ServerCounters {
  accepted: number;
  rejectedNotFound: number;
  rejectedAuth: number;
  rejectedVersion: number;
  /** TLS handshakes that failed (protocol version, cipher, …) before any charge point id was sent. */
  rejectedTls: number;
  /** Handshakes refused with 503 because too many were waiting for their admission decision. */
  rejectedBusy: number;
  /** Handshakes refused as malformed: an id too long, several Authorization headers. */
  rejectedBadRequest: number;
  /** Exceptions while handling a handshake: answered 500, counted, logged, never fatal. */
  handshakeErrors: number;
  /** The id matched an entry whose `host`/`port` filter refused the remote address (HTTP 404). */
  rejectedAddress: number;
}

/** Where a charge point connects from (as the TCP socket sees it: a proxy's address behind one). */
export interface PeerAddress {
  address: string;
  port: number;
}

/** A resolver's answer that the charge point is known but refused, and why (HTTP 404). */
export class HandshakeRefusal {
  constructor(readonly reason: string) {}
}

/** What the handshake established, for the session's owner. */
export interface HandshakeInfo {
  securityProfile: SecurityProfile;
  peer: PeerAddress;
}

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

/** Charge point id = URL path without surrounding slashes, query dropped, percent-decoded. */
export function chargePointIdFromUrl(url: string | undefined): string | undefined {
  const path = (url ?? '/').split('?', 1)[0] ?? '';
  try {
    return decodeURIComponent(path.replace(/^\/+|\/+$/g, ''));
  } catch {
    return undefined;
  }
}

function offeredProtocols(req: IncomingMessage): Set<string> {
  const header = req.headers['sec-websocket-protocol'];
  if (!header) return new Set();
  return new Set(
    header
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  );
}

function refuse(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const lines = [`HTTP/1.1 ${status} ${text}`, 'Connection: close', 'Content-Length: 0'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(lines.join('\r\n') + '\r\n\r\n');
}

const DEFLATE = 'permessage-deflate';

interface InflateHolder {
  _inflate?: { close(): void } | null;
  params?: Record<string, unknown>;
}

/**
 * ws resets, but keeps, a socket's inflate context after each message even without context
 * takeover (~30 KB measured per connection that ever sent a compressed frame). Closing it once
 * the message has been delivered lets ten thousand chargers that compress cost what idle ones
 * do; ws creates a new one for the next compressed frame. Reaches into ws' PerMessageDeflate
 * (`_extensions`, `_inflate`), checked against ws 8 — a no-op if those names ever change.
 */
function releaseInflate(ws: WebSocket, _isBinary: boolean): void {
  const extensions = (ws as unknown as { _extensions?: Record<string, InflateHolder> })._extensions;
  const deflate = extensions?.[DEFLATE];
  if (!deflate?._inflate || deflate.params?.client_no_context_takeover !== true) return;
  deflate._inflate.close();
  deflate._inflate = null;
}

export class CentralSystemServer<Route> {
  readonly counters: ServerCounters = {
    accepted: 0,
    rejectedNotFound: 0,
    rejectedAuth: 0,
    rejectedVersion: 0,
    rejectedTls: 0,
    rejectedBusy: 0,
    rejectedBadRequest: 0,
    handshakeErrors: 0,
    rejectedAddress: 0,
  };
  private readonly opts: CentralSystemServerOptions<Route>;
  private readonly http: Server;
  private readonly https: HttpsServer | undefined;
  /** Handshakes waiting for an asynchronous admission decision. */
  private pendingAdmissions = 0;
  private readonly wss: WebSocketServer;
  private readonly admissions = new WeakMap<IncomingMessage, Admission>();
  private readonly awaitingPong = new Set<WebSocket>();
  private pingTimer: NodeJS.Timeout | undefined;

  constructor(opts: CentralSystemServerOptions<Route>) {
    this.opts = opts;
    const { connection } = opts.config;
    this.https = connection.type === 'tls' ? createHttpsServer(tlsServerOptions(connection)) : undefined;
    this.http = this.https ?? createHttpServer();
    if (connection.type === 'tls') {
      this.http.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        this.counters.rejectedTls++;
        // The handshake failed before any HTTP request, so the charge point id is not known yet.
        opts.logger.warn(
          { remoteAddress: socket.remoteAddress, reason: err.code ?? err.message },
          'connection refused: TLS handshake failed',
        );
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
      perMessageDeflate: opts.config.compression
        ? {
            // OCPP 2.0.1 part 4 §3.3 asks a CSMS to support permessage-deflate. Offered with no
            // context takeover either way, and the gateway never compresses what it sends (each
            // message may be sent uncompressed): a deflate context costs ~256 KB per socket, and
            // ws keeps it once made. Inflating what a charge point compressed is released after
            // each message (see releaseInflate), so an idle connection holds no zlib state.
            serverNoContextTakeover: true,
            clientNoContextTakeover: true,
            threshold: Number.MAX_SAFE_INTEGER,
            concurrencyLimit: 4,
          }
        : false,
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
    const id = chargePointIdFromUrl(req.url);
    if (id !== undefined && id.length > config.maxChargePointIdLength) {
      // Checked before any pattern sees it: ids are attacker-chosen (see README, Security and limits).
      this.counters.rejectedBadRequest++;
      logger.warn(
        { chargePointId: id.slice(0, 64) + '…', length: id.length, reason: 'charge point id too long' },
        `charge point refused: its id is longer than maxChargePointIdLength (${config.maxChargePointIdLength})`,
      );
      return refuse(socket, 400, 'Bad Request');
    }
    if (!id) {
      this.counters.rejectedNotFound++;
      logger.warn(
        { url: req.url, reason: 'no charge point id in the URL' },
        'charge point refused: no charge point id in the URL',
      );
      return refuse(socket, 404, 'Not Found');
    }
    const peer = { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 };
    const route = this.opts.resolveChargePoint(id, peer);
    if (route instanceof HandshakeRefusal) {
      this.counters.rejectedAddress++;
      logger.warn(
        { chargePointId: id, remoteAddress: peer.address, remotePort: peer.port, reason: route.reason },
        'charge point refused: its address does not match the chargePoints entry',
      );
      return refuse(socket, 404, 'Not Found');
    }
    if (route === undefined) {
      this.counters.rejectedNotFound++;
      logger.warn(
        { chargePointId: id, reason: 'no chargePoints entry matches the id' },
        'charge point refused: no chargePoints entry matches its id',
      );
      return refuse(socket, 404, 'Not Found');
    }
    const tls = (socket as Partial<TLSSocket>).getPeerCertificate ? (socket as TLSSocket) : undefined;
    if (config.connection.type === 'tls' && config.connection.requireClientCertificate) {
      // Security profile 3: a client certificate that chains to the configured CA.
      const cert = tls?.getPeerCertificate();
      const presented = cert !== undefined && Object.keys(cert).length > 0;
      if (!tls?.authorized || !presented) {
        this.counters.rejectedAuth++;
        const reason = presented
          ? String(tls?.authorizationError ?? 'certificate not trusted')
          : 'no client certificate';
        logger.warn({ chargePointId: id, reason }, 'charge point refused: no valid client certificate');
        return refuse(socket, 401, 'Unauthorized');
      }
      const cn = cert.subject?.CN;
      // Security profile 3: the certificate is the charge point's credential, so its CN must be the
      // identity (the last URL segment) when the operator asks for it.
      if (config.connection.clientCertificateCnMustMatchId && cn !== identityOf(id)) {
        this.counters.rejectedAuth++;
        logger.warn(
          { chargePointId: id, certificateCn: cn, reason: 'certificate CN is not the charge point identity' },
          'charge point refused: certificate CN is not its identity',
        );
        return refuse(socket, 401, 'Unauthorized');
      }
    }
    // 1.6 whitepaper §2.1 / 2.0.1 part 2 §2: 3 = TLS with a verified client certificate
    // (refused above otherwise), 2 = TLS, 1 = a plain WebSocket.
    const securityProfile: SecurityProfile = !tls
      ? 1
      : config.connection.type === 'tls' && config.connection.requireClientCertificate
        ? 3
        : 2;
    const handshake: HandshakeInfo = { securityProfile, peer };
    if (this.opts.admit && this.pendingAdmissions >= (this.opts.maxPendingAdmissions ?? 512)) {
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

  /**
   * A handshake waits for a decision that needs the state store. The wait is bounded in number
   * (beyond `maxPendingAdmissions` → 503 at once) and in time (→ 503), so a slow store cannot pile
   * up handshakes; a charge point retries a 503 like any failed connection.
   */
  private awaitAdmission(
    decision: Promise<AuthResult>,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    id: string,
    route: Route,
    handshake: HandshakeInfo,
  ): void {
    this.pendingAdmissions++;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.opts.admissionTimeoutMs ?? 10_000);
    });
    Promise.race([decision, timedOut])
      .then(
        (result) => {
          if (socket.destroyed) return; // the charge point gave up meanwhile
          // The rest of the handshake runs under the same guard as its synchronous start.
          this.guarded(req, socket, () => {
            if (result === 'timeout')
              return this.refuseBusy(socket, id, 'the admission decision took too long');
            this.admitted(result, req, socket, head, id, route, handshake);
          });
        },
        (err: unknown) => this.handshakeFailed(req, socket, err, 'admission failed'),
      )
      .finally(() => {
        clearTimeout(timer);
        this.pendingAdmissions--;
      });
  }

  private refuseBusy(socket: Duplex, id: string, reason: string): void {
    this.counters.rejectedBusy++;
    this.opts.logger.warn({ chargePointId: id, reason }, 'charge point refused: the Central System is busy');
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
    if (!auth.ok && auth.ambiguous) {
      this.counters.rejectedBadRequest++;
      logger.warn({ chargePointId: id, reason: auth.reason }, 'charge point refused: ambiguous credentials');
      return refuse(socket, 400, 'Bad Request');
    }
    if (!auth.ok) {
      this.counters.rejectedAuth++;
      logger.warn({ chargePointId: id, reason: auth.reason }, 'charge point refused: authentication failed');
      return refuse(socket, 401, 'Unauthorized', { 'WWW-Authenticate': challengeHeader(config.security) });
    }
    const offered = offeredProtocols(req);
    let version = VERSION_PREFERENCE.find((v) => config.ocppVersions.includes(v) && offered.has(v));
    if (offered.size === 0 && config.ocppVersions.includes('ocpp1.6')) {
      version = 'ocpp1.6';
      logger.warn({ chargePointId: id }, 'charge point offered no subprotocol: serving it as ocpp1.6');
    }
    this.admissions.set(req, { version: offered.size === 0 ? undefined : version });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (!version) {
        // OCPP-J 1.6 §3.2 / 2.0.1 part 4 §3.2: complete the handshake without a subprotocol, then close.
        this.counters.rejectedVersion++;
        logger.warn(
          { chargePointId: id, offered: [...offered], reason: 'no OCPP version in common' },
          'charge point refused: no OCPP version in common (handshake completed without subprotocol, then closed)',
        );
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
    this.counters.accepted++;
    ws.on('pong', () => this.awaitingPong.delete(ws));
    ws.on('close', () => this.awaitingPong.delete(ws));
    ws.on('error', (err) => this.opts.logger.debug({ chargePointId: id, err }, 'charge point socket error'));
    if (ws.extensions.includes(DEFLATE)) ws.on('message', (_data, isBinary) => releaseInflate(ws, isBinary));
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
  }
}
