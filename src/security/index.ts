/**
 * The security lifecycle of one connector's charge points, in one component the connector wires
 * in: the handshake admission (stored passwords, no downgrade), password changes on their way to
 * a station, certificate signing and security events, the security RPCs, the recorded security
 * profile, and the renewal of the server's certificates.
 */
import type { SecureContextOptions } from 'node:tls';
import type { ActionHandler } from '../connector/action-handlers.js';
import type { OcppConnectorConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { AuthResult } from '../ocpp/auth.js';
import { OcppError } from '../ocpp/errors.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { RecordStore } from '../outbox/types.js';
import { HandshakeAdmission, type AdmissionRequest } from './admission.js';
import { CertificateReloader } from './certificate-reload.js';
import { CertificateSigning } from './certificate-signing.js';
import { newSecurityCounters, type SecurityCounters } from './counters.js';
import { CertificateSigner } from './csr.js';
import { PasswordRotation } from './password-rotation.js';
import { SECURITY_RPC_METHODS, SecurityRpc, type RpcTarget, type SecurityRpcReply } from './rpc.js';
import { securityEventHandler } from './security-events.js';
import { SecurityState, type SecurityProfile } from './state.js';
import type { VerifiedLogins } from './verified-logins.js';

export interface ChargePointSecurityOptions {
  config: OcppConnectorConfig;
  state: RecordStore;
  logger: Logger;
  /** Logins already verified (kept across a rebuild for a new configuration, like the counters). */
  verifiedLogins?: VerifiedLogins;
  /** Telemetry of a charge point's device produced outside any answer (signing outcomes). */
  emitTelemetry(chargePointId: string, values: Record<string, unknown>): void;
  rpcTimeoutMs: number;
  /** Where to count (kept across a rebuild for a new configuration). */
  counters?: SecurityCounters;
}

export class ChargePointSecurity {
  /** Consulted by the connector before its own answers. */
  readonly handlers: ReadonlyMap<string, ActionHandler>;
  readonly admission: HandshakeAdmission;
  /** Every counter of the security lifecycle (read by the status model). */
  readonly counters: SecurityCounters;
  private readonly opts: ChargePointSecurityOptions;
  private readonly state: SecurityState;
  private readonly rotation: PasswordRotation;
  private readonly rpc: SecurityRpc;
  /** Payloads of CALLs carrying a password `rotatePassword` generated (stored with a fast verifier). */
  private readonly generated = new WeakSet<object>();
  private reloader: CertificateReloader | undefined;

  constructor(opts: ChargePointSecurityOptions) {
    this.opts = opts;
    this.counters = opts.counters ?? newSecurityCounters();
    const { config, logger } = opts;
    this.state = new SecurityState(opts.state, logger);
    this.admission = new HandshakeAdmission({
      rules: config.centralSystem.security,
      state: this.state,
      logger,
      counters: this.counters,
      ...(opts.verifiedLogins === undefined ? {} : { verifiedLogins: opts.verifiedLogins }),
    });
    const checksPasswords = this.admission.checksPasswords;
    this.rotation = new PasswordRotation({
      state: this.state,
      checksPasswords,
      logger,
      counters: this.counters,
    });
    this.rpc = new SecurityRpc({
      config,
      state: this.state,
      checksPasswords,
      logger,
      timeoutMs: opts.rpcTimeoutMs,
      counters: this.counters,
      markGenerated: (payload) => this.generated.add(payload),
    });
    const signingCa = config.centralSystem.connection.signingCa;
    const signing = new CertificateSigning({
      signer: signingCa === undefined ? undefined : new CertificateSigner(signingCa),
      logger,
      emitTelemetry: (id, values) => opts.emitTelemetry(id, values),
      counters: this.counters,
    });
    this.handlers = new Map<string, ActionHandler>([
      ...signing.handlers(),
      ['SecurityEventNotification', securityEventHandler(logger, this.counters)],
    ]);
  }

  /** Starts watching the server certificates (TLS connectors); `apply` swaps the secure context. */
  start(apply: (options: SecureContextOptions) => void): void {
    const { connection } = this.opts.config.centralSystem;
    if (connection.type !== 'tls') return;
    this.reloader = new CertificateReloader({
      connection,
      logger: this.opts.logger,
      apply,
      counters: this.counters,
    });
    this.reloader.start();
  }

  async stop(): Promise<void> {
    await this.reloader?.stop();
  }

  admit(request: AdmissionRequest): Promise<AuthResult> {
    return this.admission.admit(request);
  }

  interceptCall(
    session: ChargePointSession,
    action: string,
    payload: unknown,
    send: () => Promise<unknown>,
  ): Promise<unknown> {
    // A station makes its own key pair and sends only a CSR (A02/A03; 1.6 whitepaper): nothing a
    // Central System sends carries a private key. One pasted into an RPC by mistake never leaves.
    if (JSON.stringify(payload).includes('PRIVATE KEY-----')) {
      this.opts.logger.warn(
        { chargePointId: session.id, action },
        'call to a charge point refused: its payload holds a private key',
      );
      return Promise.reject(
        new OcppError('SecurityError', 'the payload holds a private key: a Central System never sends one'),
      );
    }
    const generated = typeof payload === 'object' && payload !== null && this.generated.has(payload);
    return this.rotation.intercept(session, action, payload, send, generated);
  }

  isRpc(method: string): boolean {
    return SECURITY_RPC_METHODS.has(method);
  }

  isOfflineRpc(method: string): boolean {
    return method === 'resetSecurityProfile';
  }

  onRpc(method: string, params: unknown, target: RpcTarget): Promise<SecurityRpcReply> {
    return this.rpc.handle(method, params, target);
  }

  /**
   * A station connected: remember the highest profile it used (2 or 3) so that a lower one is
   * refused from now on (1.6 whitepaper A05.FR.09, 2.x A05.FR.07). Written only when it rises.
   */
  onConnected(chargePointId: string, securityProfile: SecurityProfile): void {
    if (securityProfile < 2) return;
    const profile = securityProfile as 2 | 3;
    const { logger, config } = this.opts;
    this.state
      .profile(chargePointId)
      .then(async (recorded) => {
        if (recorded !== undefined && recorded.profile >= profile) return;
        await this.state.putProfile(chargePointId, {
          profile,
          since: new Date().toISOString(),
          connector: config.name,
        });
        logger.info(
          { chargePointId, securityProfile: profile },
          `charge point connected with security profile ${profile}: a lower profile is refused from now on`,
        );
      })
      .catch((err: unknown) => logger.error({ chargePointId, err }, 'could not record the security profile'));
  }
}
