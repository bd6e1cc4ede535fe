/**
 * The security lifecycle's counters for one connector: one object, written by the parts of
 * ChargePointSecurity and read by the status model (and through it /metrics, the status page and
 * the stats log line). Refused downgrades are a handshake result and live with the server's
 * handshake counters (`rejectedDowngrade`), so that every refusal is counted once.
 */
export interface SecurityCounters {
  /** Handshakes the admission let through on the configured rules (no password stored for the station). */
  admittedByConfig: number;
  /** … on a password set through the gateway and confirmed by the station. */
  admittedByStoredPassword: number;
  /** … on the password of a change the station never answered, which is now its only one. */
  pendingPasswordsConfirmed: number;
  /** Stations that logged in with their previous password after an unanswered change (dropped). */
  pendingPasswordsDropped: number;
  /**
   * Stored passwords checked at a handshake, by what it cost: known from an earlier login of the
   * station (VerifiedLogins: one HMAC), a generated password's fast verifier, scrypt computed, or
   * a scrypt check dropped because its handshake had stopped waiting (KdfGate).
   */
  passwordChecksCached: number;
  passwordChecksHashed: number;
  passwordChecksKdf: number;
  passwordChecksExpired: number;
  /** Password changes the station accepted (A01.FR.03: only the new one is admitted now). */
  passwordsChanged: number;
  /**
   * … it took one it applies later: RebootRequired, or (2.1) a network profile's password (both
   * admitted until it uses the new one).
   */
  passwordsStaged: number;
  /** … it did not answer (both are admitted until it logs in with one of them). */
  passwordsUnconfirmed: number;
  /** … it rejected or refused (A01.FR.04: the old one stays). */
  passwordsUnchanged: number;
  /** `rotatePassword` RPCs that generated a password and sent it. */
  passwordRotations: number;
  securityEvents: number;
  /** SignCertificate answered Accepted / Rejected (no CA, a certificate type not signed here, busy). */
  signRequestsAccepted: number;
  signRequestsRejected: number;
  /** CSRs that failed a check or could not be signed: no certificate sent. */
  csrsRejected: number;
  /** CertificateSigned answered Accepted / anything else / not answered. */
  certificatesInstalled: number;
  certificatesRefused: number;
  certificatesNotDelivered: number;
  /** Server certificate renewals applied / refused (the certificates in use stayed). */
  certificateReloads: number;
  certificateReloadFailures: number;
}

export function newSecurityCounters(): SecurityCounters {
  return {
    admittedByConfig: 0,
    admittedByStoredPassword: 0,
    pendingPasswordsConfirmed: 0,
    pendingPasswordsDropped: 0,
    passwordChecksCached: 0,
    passwordChecksHashed: 0,
    passwordChecksKdf: 0,
    passwordChecksExpired: 0,
    passwordsChanged: 0,
    passwordsStaged: 0,
    passwordsUnconfirmed: 0,
    passwordsUnchanged: 0,
    passwordRotations: 0,
    securityEvents: 0,
    signRequestsAccepted: 0,
    signRequestsRejected: 0,
    csrsRejected: 0,
    certificatesInstalled: 0,
    certificatesRefused: 0,
    certificatesNotDelivered: 0,
    certificateReloads: 0,
    certificateReloadFailures: 0,
  };
}
