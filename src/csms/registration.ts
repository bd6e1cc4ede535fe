/**
 * Registration (OCPP 1.6 §4.2 BootNotification, 2.0.1/2.1 B01–B03): a chargePoints entry's
 * `registration` (Accepted | Pending | Rejected) is the answer to a station's boot until the
 * operator decides in ThingsBoard, with the device's shared attribute `ocppRegistration`.
 *
 * - ThingsBoard's decision is kept per charge point in the StateStore (an approval survives a
 *   restart and is seen by every gateway on a shared store). At a boot that is not yet Accepted
 *   the current attribute is read, so an approval made while the station was offline counts.
 * - While not Accepted, a station may send only BootNotification — and, while Pending, what the
 *   Central System asked for: NotifyReport (GetBaseReport/GetReport) and the message a
 *   TriggerMessage requested; anything else gets CALLERROR SecurityError (2.0.1 B02.FR.09,
 *   B03.FR.07; 1.6 §4.2.1 lets the Central System refuse the same way).
 * - While Pending, ThingsBoard may send configuration and provisioning RPCs (1.6 §4.2.1: the
 *   Central System MAY retrieve or set information; 2.0.1 B02); other RPCs, and every RPC to a
 *   Rejected station (1.6: the Central System SHOULD NOT initiate any), get an error reply.
 * - On approval of a connected station the gateway sends TriggerMessage BootNotification (2.0.1
 *   F06, 1.6 §5.17); if the station cannot, its next boot (after `registrationRetryInterval`) is
 *   Accepted.
 */
import type { RegistrationStatus } from '../config/csms-types.js';
import type { ChargePointConfig, OcppVersion } from '../config/types.js';
import {
  RpcRefusedError,
  type CallContext,
  type ConnectionView,
  type ConnectorFeature,
  type CsmsThingsBoardLink,
  type SendContext,
} from '../connector/features.js';
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import { OcppError } from '../ocpp/errors.js';
import { OCPP_VERSIONS } from '../ocpp/versions.js';
import type { RecordStore } from '../outbox/types.js';

export const REGISTRATION_ATTRIBUTE = 'ocppRegistration';
const NAMESPACE = 'registration';
const FACT = 'registration';
const ATTRIBUTE_TIMEOUT_MS = 3000;
const TRIGGER_TIMEOUT_MS = 30_000;

/** What a connection's station was last told, and what it was asked to send since. */
interface RegistrationFact {
  status: Promise<RegistrationStatus>;
  /** Actions requested by TriggerMessage while not Accepted (allowed once each). */
  triggered: Set<string>;
}

const STATUSES: ReadonlySet<string> = new Set(['Accepted', 'Pending', 'Rejected']);

function isStatus(v: unknown): v is RegistrationStatus {
  return typeof v === 'string' && STATUSES.has(v);
}

/** The RPCs of PENDING_RPCS for OCPP 2.0.1 (B02); OCPP 2.1 uses the same list. */
const PENDING_RPCS_2: ReadonlySet<string> = new Set([
  'GetVariables',
  'SetVariables',
  'GetBaseReport',
  'GetReport',
  'TriggerMessage',
  'SetNetworkProfile',
  'Reset',
  'UpdateFirmware',
  'GetLog',
  'InstallCertificate',
  'GetInstalledCertificateIds',
  'DeleteCertificate',
  'CertificateSigned',
]);

/** RPC actions a Pending station may be sent: reading and changing its configuration, provisioning. */
const PENDING_RPCS: Readonly<Record<OcppVersion, ReadonlySet<string>>> = {
  'ocpp1.6': new Set([
    'GetConfiguration',
    'ChangeConfiguration',
    'TriggerMessage',
    'ExtendedTriggerMessage',
    'Reset',
    'UpdateFirmware',
    'SignedUpdateFirmware',
    'GetDiagnostics',
    'GetLog',
    'InstallCertificate',
    'GetInstalledCertificateIds',
    'DeleteCertificate',
    'CertificateSigned',
  ]),
  'ocpp2.0.1': PENDING_RPCS_2,
  'ocpp2.1': PENDING_RPCS_2,
};

/**
 * TriggerMessage requestedMessage → the action the station then sends. A Map: the name comes from
 * ThingsBoard's RPC (`constructor` would read Object.prototype from a plain object).
 */
const TRIGGERED_ACTION: ReadonlyMap<string, string> = new Map([
  ['SignChargePointCertificate', 'SignCertificate'],
  ['SignChargingStationCertificate', 'SignCertificate'],
  ['SignV2GCertificate', 'SignCertificate'],
  ['SignV2G20Certificate', 'SignCertificate'],
  ['SignCombinedCertificate', 'SignCertificate'],
  ['DiagnosticsStatusNotification', 'DiagnosticsStatusNotification'],
]);

export type RegistrationCounters = Record<
  'accepted' | 'pending' | 'rejected' | 'refusedCalls' | 'refusedRpcs' | 'approvals',
  number
>;

export class RegistrationFeature implements ConnectorFeature {
  readonly name = 'registration';
  readonly counters: RegistrationCounters = {
    accepted: 0,
    pending: 0,
    rejected: 0,
    refusedCalls: 0,
    refusedRpcs: 0,
    approvals: 0,
  };
  readonly onCall: Readonly<Record<string, (ctx: CallContext) => Promise<void>>>;
  private readonly state: RecordStore;
  private readonly thingsboard: CsmsThingsBoardLink | undefined;
  private readonly logger: Logger;
  private readonly warnings: LogSummary;

  constructor(deps: {
    state: RecordStore;
    thingsboard: CsmsThingsBoardLink | undefined;
    logger: Logger;
    warnings?: LogSummary;
  }) {
    this.state = deps.state;
    this.thingsboard = deps.thingsboard;
    this.logger = deps.logger.child({ feature: 'registration' });
    this.warnings = deps.warnings ?? new LogSummary({ logger: this.logger });
    this.onCall = { BootNotification: (ctx) => this.onBoot(ctx) };
  }

  appliesTo(entry: ChargePointConfig): boolean {
    return entry.registration !== undefined;
  }

  /** A connection that did not boot yet is what its last decision says (or the entry's policy). */
  onConnected(connection: ConnectionView): void {
    const policy = connection.entry.registration;
    if (policy === undefined) return;
    const status = this.remembered(connection.chargePointId).then((r) => r ?? policy);
    connection.facts.set(FACT, { status, triggered: new Set() } satisfies RegistrationFact);
  }

  async admit(connection: ConnectionView, action: string): Promise<OcppError | undefined> {
    const fact = connection.facts.get(FACT) as RegistrationFact | undefined;
    if (!fact || action === 'BootNotification') return undefined;
    const status = await fact.status;
    if (status === 'Accepted') return undefined;
    if (status === 'Pending' && (action === 'NotifyReport' || fact.triggered.delete(action)))
      return undefined;
    this.counters.refusedCalls++;
    return new OcppError(
      'SecurityError',
      `${action} refused: the charge point's registration is ${status} (only BootNotification is accepted` +
        `${status === 'Pending' ? ' and what the Central System asks for' : ''})`,
    );
  }

  beforeSend(ctx: SendContext): void | Promise<void> {
    const fact = ctx.connection.facts.get(FACT) as RegistrationFact | undefined;
    if (!fact) return undefined;
    return fact.status.then((status) => {
      if (status === 'Accepted') return;
      const allowed = status === 'Pending' && PENDING_RPCS[ctx.connection.version].has(ctx.action);
      if (!allowed) {
        this.counters.refusedRpcs++;
        throw new RpcRefusedError(
          `${ctx.action} not sent: the charge point's registration is ${status}` +
            (status === 'Pending' ? ' (only configuration RPCs until it is Accepted)' : ''),
        );
      }
      if (ctx.action === 'TriggerMessage' || ctx.action === 'ExtendedTriggerMessage') {
        const requested = (ctx.payload as Record<string, unknown> | null)?.requestedMessage;
        const action = typeof requested === 'string' ? (TRIGGERED_ACTION.get(requested) ?? requested) : '';
        // Only what a station can send: ThingsBoard may name anything, and the set must stay small.
        if (OCPP_VERSIONS[ctx.connection.version].chargePointActions.has(action)) fact.triggered.add(action);
      }
    });
  }

  /** `ocppRegistration` set (or deleted) in ThingsBoard for one of this connector's devices. */
  onDeviceAttributes(
    chargePointId: string,
    device: string,
    data: ReadonlyMap<string, unknown>,
    connection: ConnectionView | undefined,
  ): void {
    const deleted = data.get('deleted');
    const removed = Array.isArray(deleted) && deleted.includes(REGISTRATION_ATTRIBUTE);
    if (!data.has(REGISTRATION_ATTRIBUTE) && !removed) return;
    const value = data.get(REGISTRATION_ATTRIBUTE);
    if (!removed && !isStatus(value)) {
      this.warnings.warn(
        'registration-attribute-invalid',
        { device },
        `${REGISTRATION_ATTRIBUTE} must be "Accepted", "Pending" or "Rejected": ignored`,
      );
      return;
    }
    const write = removed
      ? this.state.deleteRecord(NAMESPACE, chargePointId)
      : this.state.putRecord(NAMESPACE, chargePointId, { status: value });
    write.catch((err: unknown) => this.notStored(chargePointId, err));
    this.logger.info(
      { chargePointId, device, registration: removed ? 'removed' : value },
      'registration decided in ThingsBoard',
    );
    if (value === 'Accepted' && connection?.entry.registration !== undefined) {
      // Started by a ThingsBoard push: a rejection here would be unhandled, which ends the process.
      this.approve(connection).catch((err: unknown) =>
        this.logger.error({ chargePointId, err }, 'approving a charge point failed'),
      );
    }
  }

  private async approve(connection: ConnectionView): Promise<void> {
    const fact = connection.facts.get(FACT) as RegistrationFact | undefined;
    if (!fact || (await fact.status) === 'Accepted' || !connection.isCurrent()) return;
    this.counters.approvals++;
    fact.triggered.add('BootNotification');
    try {
      const answer = (await connection.call(
        'TriggerMessage',
        { requestedMessage: 'BootNotification' },
        TRIGGER_TIMEOUT_MS,
      )) as Record<string, unknown> | undefined;
      this.logger.info(
        { chargePointId: connection.chargePointId, status: answer?.status },
        'approved in ThingsBoard: asked the charge point to boot again',
      );
    } catch (err) {
      this.logger.info(
        { chargePointId: connection.chargePointId, reason: err instanceof Error ? err.message : String(err) },
        'approved in ThingsBoard: the charge point will be Accepted at its next boot',
      );
    }
  }

  private async onBoot(ctx: CallContext): Promise<void> {
    const { connection } = ctx;
    const policy = connection.entry.registration;
    if (policy === undefined) return;
    const status = this.decideAtBoot(connection, policy);
    connection.facts.set(FACT, { status, triggered: new Set() } satisfies RegistrationFact);
    const decided = await status;
    this.counters[decided === 'Accepted' ? 'accepted' : decided === 'Pending' ? 'pending' : 'rejected']++;
    if (decided === 'Accepted') return;
    // 1.6 §4.2 / 2.0.1 B02: for a status other than Accepted, interval is the retry wait.
    ctx.response.status = decided;
    ctx.response.interval = connection.entry.registrationRetryInterval;
    this.logger.info(
      { chargePointId: connection.chargePointId, device: connection.device(), registration: decided },
      'boot not accepted',
    );
  }

  private async decideAtBoot(
    connection: ConnectionView,
    policy: RegistrationStatus,
  ): Promise<RegistrationStatus> {
    const remembered = await this.remembered(connection.chargePointId);
    if (remembered === 'Accepted') return 'Accepted';
    const fromThingsBoard = await this.askThingsBoard(connection.device());
    if (fromThingsBoard !== undefined) {
      if (fromThingsBoard !== remembered) {
        await this.state
          .putRecord(NAMESPACE, connection.chargePointId, { status: fromThingsBoard })
          .catch((err: unknown) => this.notStored(connection.chargePointId, err));
      }
      return fromThingsBoard;
    }
    return remembered ?? policy;
  }

  private notStored(chargePointId: string, err: unknown): void {
    this.warnings.warn(
      'registration-not-stored',
      { chargePointId, err: String(err) },
      'could not store a registration decision',
    );
  }

  private async askThingsBoard(device: string): Promise<RegistrationStatus | undefined> {
    if (!this.thingsboard) return undefined;
    try {
      const values = await this.thingsboard.requestDeviceAttributes(
        device,
        [REGISTRATION_ATTRIBUTE],
        ATTRIBUTE_TIMEOUT_MS,
      );
      const v = values.get(REGISTRATION_ATTRIBUTE);
      return isStatus(v) ? v : undefined;
    } catch (err) {
      this.logger.debug(
        { device, reason: String(err) },
        `${REGISTRATION_ATTRIBUTE} not read from ThingsBoard`,
      );
      return undefined;
    }
  }

  private async remembered(chargePointId: string): Promise<RegistrationStatus | undefined> {
    try {
      const r = (await this.state.getRecord(NAMESPACE, chargePointId)) as { status?: unknown } | undefined;
      return isStatus(r?.status) ? r.status : undefined;
    } catch {
      return undefined;
    }
  }
}
