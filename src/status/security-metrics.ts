/**
 * The metric families of the security lifecycle: which field of a connector's `security` status
 * (security/counters.ts) each label value of each family reads. A table, so that a new counter is
 * one line here and the families stay in the naming of the others (`ocpp_gateway_…_total`, snake
 * case label values).
 */
export interface SecurityMetricFamily {
  name: string;
  help: string;
  /** The label that tells the fields apart; none when the family reads one field. */
  label?: string;
  /** Field of `security` → label value. */
  fields: Record<string, string>;
}

export const SECURITY_METRIC_FAMILIES: readonly SecurityMetricFamily[] = [
  {
    name: 'admissions_total',
    help: 'Handshakes the security admission let through, by the credential that admitted them',
    label: 'credential',
    fields: {
      admittedByConfig: 'configured',
      admittedByStoredPassword: 'stored_password',
      pendingPasswordsConfirmed: 'unconfirmed_password',
    },
  },
  {
    name: 'password_checks_total',
    help: 'Stored passwords checked at a handshake, by cost: remembered from an earlier login, a generated password (one hash), scrypt computed, or a scrypt check dropped because its handshake had stopped waiting',
    label: 'by',
    fields: {
      passwordChecksCached: 'cache',
      passwordChecksHashed: 'hash',
      passwordChecksKdf: 'kdf',
      passwordChecksExpired: 'expired',
    },
  },
  {
    name: 'password_changes_total',
    help: 'Basic passwords set on stations through the gateway, by outcome; an unconfirmed change is later confirmed or dropped at the station login',
    label: 'outcome',
    fields: {
      passwordsChanged: 'changed',
      passwordsStaged: 'staged',
      passwordsUnconfirmed: 'unconfirmed',
      passwordsUnchanged: 'unchanged',
      pendingPasswordsConfirmed: 'confirmed_at_login',
      pendingPasswordsDropped: 'dropped_at_login',
    },
  },
  {
    name: 'password_rotations_total',
    help: 'rotatePassword RPCs that generated a password and sent it to the station',
    fields: { passwordRotations: '' },
  },
  {
    name: 'security_events_total',
    help: 'SecurityEventNotifications received',
    fields: { securityEvents: '' },
  },
  {
    name: 'certificate_signing_total',
    help: 'Certificate requests and what became of them: SignCertificate accepted or rejected, CSR refused, CertificateSigned installed, refused or not delivered',
    label: 'outcome',
    fields: {
      signRequestsAccepted: 'request_accepted',
      signRequestsRejected: 'request_rejected',
      csrsRejected: 'csr_rejected',
      certificatesInstalled: 'installed',
      certificatesRefused: 'refused',
      certificatesNotDelivered: 'not_delivered',
    },
  },
  {
    name: 'certificate_reloads_total',
    help: 'Renewed server certificates applied, or refused (the ones in use stay)',
    label: 'result',
    fields: { certificateReloads: 'applied', certificateReloadFailures: 'failed' },
  },
];
