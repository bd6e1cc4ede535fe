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
import { DEFAULT_ADMISSION_TIMEOUT_MS } from '../ocpp/admission-queue.js';
import { newSecurityCounters, type SecurityCounters } from './counters.js';
import { KdfExpired, KdfGate } from './kdf-gate.js';
import { isKdfVerifier, verifyPassword } from './passwords.js';
import type { SecurityProfile, SecurityState, StoredPassword } from './state.js';
import { VerifiedLogins } from './verified-logins.js';

export interface AdmissionRequest {
  chargePointId: string;
  req: IncomingMessage;
  /** What the connection itself provides: 1 plain WebSocket, 2 TLS, 3 TLS + a verified client certificate. */
  securityProfile: SecurityProfile;
}

export type AdmissionCounters = Pick<
  SecurityCounters,
  | 'admittedByConfig'
  | 'admittedByStoredPassword'
  | 'pendingPasswordsConfirmed'
  | 'pendingPasswordsDropped'
  | 'passwordChecksCached'
  | 'passwordChecksHashed'
  | 'passwordChecksKdf'
  | 'passwordChecksExpired'
>;

export interface HandshakeAdmissionOptions {
  rules: readonly SecurityRule[];
  state: SecurityState;
  logger: Logger;
  counters?: AdmissionCounters;
  /** Logins already verified (kept across a rebuild for a new configuration, like the counters). */
  verifiedLogins?: VerifiedLogins;
  /** Where scrypt checks wait for their turn; default: 2 at a time, none older than the admission timeout. */
  kdfGate?: KdfGate;
}

export class HandshakeAdmission {
  readonly counters: AdmissionCounters;
  private readonly opts: HandshakeAdmissionOptions;
  private readonly basicRules: SecurityRule[];
  private readonly otherRules: SecurityRule[];
  private readonly verified: VerifiedLogins;
  private readonly kdf: KdfGate;

  constructor(opts: HandshakeAdmissionOptions) {
    this.opts = opts;
    this.counters = opts.counters ?? newSecurityCounters();
    this.verified = opts.verifiedLogins ?? new VerifiedLogins();
    // A check that cannot start a second before its handshake stops waiting would finish too late.
    this.kdf =
      opts.kdfGate ??
      new KdfGate({ maxWaitMs: DEFAULT_ADMISSION_TIMEOUT_MS - 1000, counters: this.counters });
    this.basicRules = opts.rules.filter((r) => r.type === 'basic');
    this.otherRules = opts.rules.filter((r) => r.type !== 'basic');
  }

  /** True when this connector checks Basic passwords, so a rotated password means something here. */
  get checksPasswords(): boolean {
    return this.basicRules.length > 0;
  }

  async admit(request: AdmissionRequest): Promise<AuthResult> {
    try {
      return await this.decide(request);
    } catch (err) {
      // The station has (almost surely) had its 503 already; if not, it gets one now.
      if (err instanceof KdfExpired) return { ok: false, busy: true, reason: err.message };
      throw err;
    }
  }

  private async decide(request: AdmissionRequest): Promise<AuthResult> {
    const { chargePointId: id } = request;
    const [recorded, stored] = await Promise.all([
      this.opts.state.profile(id),
      this.checksPasswords ? this.opts.state.password(id) : undefined,
    ]);
    // 1.6 whitepaper A05.FR.09, OCPP 2.0.1/2.1 A05.FR.07: once a station connected with a higher
    // security profile, the Central System SHALL NOT allow it to connect with a lower one anymore.
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
   * accepted; 2.0.1 A00.FR.207/324 and 1.6 A00.FR.203/302: identity and password both checked).
   * Token rules are not passwords and still apply.
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
    // 1.6 whitepaper A00.FR.204/303, 2.0.1 A00.FR.204/303: the username is the charge point identity.
    const identityOk = given !== undefined && given.username === identityOf(id);
    if (!viaConfig && !identityOk) {
      return { ok: false, reason: 'Basic username does not equal the charge point identity' };
    }
    const password = given?.password ?? '';
    const viaCurrent =
      !viaConfig && stored.current !== undefined && (await this.matches(id, password, stored.current));
    const viaPending =
      !viaConfig &&
      !viaCurrent &&
      stored.pending !== undefined &&
      (await this.matches(id, password, stored.pending.verifiers));
    if (viaPending) {
      await this.settlePending(id, 'confirmed');
      return { ok: true };
    }
    if (viaConfig || viaCurrent) {
      // A change the station may apply later (RebootRequired, another network profile slot) stays
      // admitted until it is used; an unanswered one is settled by this login.
      if (stored.pending !== undefined && stored.pending.untilUsed !== true) {
        await this.settlePending(id, 'dropped');
      }
      this.counters[viaCurrent ? 'admittedByStoredPassword' : 'admittedByConfig']++;
      return { ok: true };
    }
    return { ok: false, reason: 'Basic password not accepted' };
  }

  /**
   * Whether `password` matches one of a station's stored `verifiers`: from an earlier login when
   * possible (one HMAC), else computed — at once for a generated password's fast verifier, through
   * the KdfGate for scrypt (a check dropped there refuses this handshake, which has had its 503).
   */
  private async matches(id: string, password: string, verifiers: readonly string[]): Promise<boolean> {
    const unknown: string[] = [];
    for (const verifier of verifiers) {
      const known = this.verified.check(id, verifier, password);
      if (known === 'match') {
        this.counters.passwordChecksCached++;
        return true;
      }
      if (known === 'unknown') unknown.push(verifier);
    }
    if (unknown.length === 0) {
      // Every verifier is known to take another password: no KDF for a wrong one.
      this.counters.passwordChecksCached++;
      return false;
    }
    // Every unknown verifier is computed (no early exit: the time says nothing about which matched).
    const results = await Promise.all(
      unknown.map((verifier) => {
        if (isKdfVerifier(verifier)) return this.kdf.run(() => verifyPassword(password, verifier));
        this.counters.passwordChecksHashed++;
        return verifyPassword(password, verifier);
      }),
    );
    const matched = unknown.find((_v, i) => results[i] === true);
    if (matched === undefined) return false;
    this.verified.remember(id, matched, password);
    return true;
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
