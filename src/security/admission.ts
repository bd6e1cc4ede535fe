/**
 * The handshake decision once a charge point's id and chargePoints entry are known: no downgrade
 * of its security profile, and its credentials — the configured ones, or the password it was
 * given since (rotation). Both come from the state store, so the decision is asynchronous; the
 * server bounds how many handshakes may wait for it.
 */
import type { IncomingMessage } from 'node:http';
import type { SecurityRule } from '../config/types.js';
import type { Logger } from '../log.js';
import { authenticate, authorizationOf, identityOf, parseBasic, type AuthResult } from '../ocpp/auth.js';
import { newSecurityCounters, type SecurityCounters } from './counters.js';
import { verifyAny } from './passwords.js';
import type { SecurityProfile, SecurityState, StoredPassword } from './state.js';

export interface AdmissionRequest {
  chargePointId: string;
  req: IncomingMessage;
  /** What the connection itself provides: 1 plain WebSocket, 2 TLS, 3 TLS + a verified client certificate. */
  securityProfile: SecurityProfile;
}

export type AdmissionCounters = Pick<
  SecurityCounters,
  'admittedByConfig' | 'admittedByStoredPassword' | 'pendingPasswordsConfirmed' | 'pendingPasswordsDropped'
>;

export interface HandshakeAdmissionOptions {
  rules: readonly SecurityRule[];
  state: SecurityState;
  logger: Logger;
  counters?: AdmissionCounters;
}

export class HandshakeAdmission {
  readonly counters: AdmissionCounters;
  private readonly opts: HandshakeAdmissionOptions;
  private readonly basicRules: SecurityRule[];
  private readonly otherRules: SecurityRule[];

  constructor(opts: HandshakeAdmissionOptions) {
    this.opts = opts;
    this.counters = opts.counters ?? newSecurityCounters();
    this.basicRules = opts.rules.filter((r) => r.type === 'basic');
    this.otherRules = opts.rules.filter((r) => r.type !== 'basic');
  }

  /** True when this connector checks Basic passwords, so a rotated password means something here. */
  get checksPasswords(): boolean {
    return this.basicRules.length > 0;
  }

  async admit(request: AdmissionRequest): Promise<AuthResult> {
    const { chargePointId: id } = request;
    const [recorded, stored] = await Promise.all([
      this.opts.state.profile(id),
      this.checksPasswords ? this.opts.state.password(id) : undefined,
    ]);
    // 1.6 whitepaper and OCPP 2.0.1 A05.FR.09: once a station connected with a higher security
    // profile, the Central System SHALL NOT allow it to connect with a lower one anymore.
    if (recorded !== undefined && request.securityProfile < recorded.profile) {
      // Counted by the server as a handshake result (rejectedDowngrade), once.
      return {
        ok: false,
        downgrade: true,
        reason: `security profile downgrade: it connected with profile ${recorded.profile} before, now ${request.securityProfile}`,
      };
    }
    if (stored === undefined || (stored.current === undefined && stored.pending === undefined)) {
      const result = authenticate(this.opts.rules, request.req, id);
      if (result.ok) this.counters.admittedByConfig++;
      return result;
    }
    return this.withStoredPassword(request, stored);
  }

  /**
   * A station whose password was changed through the gateway: its stored password replaces the
   * configured Basic credentials for it (A01.FR.03: the previous credentials are no longer
   * accepted). Token rules are not passwords and still apply.
   */
  private async withStoredPassword(request: AdmissionRequest, stored: StoredPassword): Promise<AuthResult> {
    const { chargePointId: id, req } = request;
    // Several Authorization headers are refused here too (HTTP 400), never resolved to the first.
    const authorization = authorizationOf(req);
    if (!authorization.ok) return authorization;
    if (this.otherRules.length > 0) {
      const other = authenticate(this.otherRules, req, id);
      if (other.ok) {
        this.counters.admittedByConfig++;
        return other;
      }
    }
    const { header } = authorization;
    if (header === undefined) return { ok: false, reason: 'no Authorization header' };
    // No current verifier: the configured password is still the one in use.
    const viaConfig = stored.current === undefined && authenticate(this.basicRules, req, id).ok;
    const given = parseBasic(header);
    if (!viaConfig && given === undefined) return { ok: false, reason: 'Authorization is not HTTP Basic' };
    // 1.6 whitepaper A00.FR.204/303, 2.0.1 A00.FR.204: the username is the charge point identity.
    const identityOk = given !== undefined && given.username === identityOf(id);
    if (!viaConfig && !identityOk) {
      return { ok: false, reason: 'Basic username does not equal the charge point identity' };
    }
    const password = given?.password ?? '';
    const viaCurrent =
      !viaConfig && stored.current !== undefined && (await verifyAny(password, stored.current));
    const viaPending =
      !viaConfig &&
      !viaCurrent &&
      stored.pending !== undefined &&
      (await verifyAny(password, stored.pending.verifiers));
    if (viaPending) {
      await this.settlePending(id, 'confirmed');
      return { ok: true };
    }
    if (viaConfig || viaCurrent) {
      if (stored.pending !== undefined) await this.settlePending(id, 'dropped');
      this.counters[viaCurrent ? 'admittedByStoredPassword' : 'admittedByConfig']++;
      return { ok: true };
    }
    return { ok: false, reason: 'Basic password not accepted' };
  }

  /** The station's first login after an unanswered change tells which password it has. */
  private async settlePending(id: string, outcome: 'confirmed' | 'dropped'): Promise<void> {
    const now = new Date().toISOString();
    await this.opts.state.updatePassword(id, (record) => {
      if (record?.pending === undefined) return undefined;
      if (outcome === 'dropped') {
        return record.current === undefined ? null : { current: record.current, updatedAt: now };
      }
      return { current: record.pending.verifiers, updatedAt: now };
    });
    this.counters[outcome === 'confirmed' ? 'pendingPasswordsConfirmed' : 'pendingPasswordsDropped']++;
    this.opts.logger.info(
      { chargePointId: id },
      outcome === 'confirmed'
        ? 'charge point logged in with the password of an unanswered change: that password is now the only one admitted'
        : 'charge point logged in with its previous password: the unanswered password change is dropped',
    );
  }
}
