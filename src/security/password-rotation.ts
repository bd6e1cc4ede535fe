/**
 * Basic-auth password changes that go through the gateway (OCPP 2.0.1/2.1 A01, 1.6 whitepaper
 * A01; 2.1 B09 network connection profiles), whichever way ThingsBoard asks for them — the
 * action-named RPC, the reserved `set` RPC, a serverSideRpc or attributeUpdates entry, or the
 * `rotatePassword` RPC: every CALL to a charge point passes here before it is sent.
 *
 * The new password's verifiers are stored as "pending" before the CALL leaves, so a station that
 * applies it and then loses the answer is not locked out. The answer then decides:
 * Accepted → only the new password is admitted from the next connection (A01.FR.03); Rejected /
 * NotSupported / CALLERROR → the old one stays (A01.FR.04); no answer → both are admitted until
 * the station logs in with one of them (see HandshakeAdmission). A password the station applies
 * later — RebootRequired, or (2.1) one for a network connection profile slot it switches to later
 * (SetNetworkProfile `basicAuthPassword`, SetVariables `NetworkConfiguration.BasicAuthPassword`,
 * B09.FR.14/28) — is "staged": admitted beside the old one until the station first uses it.
 */
import type { OcppVersion } from '../config/types.js';
import type { Logger } from '../log.js';
import { identityOf } from '../ocpp/auth.js';
import { OcppCallError, OcppError } from '../ocpp/errors.js';
import type { ChargePointSession } from '../ocpp/session.js';
import { newSecurityCounters, type SecurityCounters } from './counters.js';
import { hashGeneratedPassword, hashPassword, passwordForms } from './passwords.js';
import type { SecurityState } from './state.js';

/**
 * A password write found in an outgoing CALL. `active`: the password the station uses now
 * (SecurityCtrlr.BasicAuthPassword, AuthorizationKey); `staged`: one for a network connection
 * profile it uses once it switches to it (2.1).
 */
export interface PasswordWrite {
  value: string;
  kind: 'active' | 'staged';
  /** SetNetworkProfile: the identity the profile names, when it names one. */
  identity?: string;
}

export type PasswordOutcome = 'changed' | 'staged' | 'unconfirmed' | 'unchanged';

const sameName = (a: unknown, b: string): boolean =>
  typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** 2.x: `component`.BasicAuthPassword, attribute Actual (the default). CiStrings: any case. */
function isPasswordVariable(component: string): (entry: Record<string, unknown>) => boolean {
  return (entry) => {
    const type = entry.attributeType;
    return (
      sameName(asRecord(entry.component).name, component) &&
      sameName(asRecord(entry.variable).name, 'BasicAuthPassword') &&
      (type === undefined || type === 'Actual')
    );
  };
}
const ACTIVE_VARIABLE = isPasswordVariable('SecurityCtrlr');
/** 2.1 B09.FR.10/21: the password of a network configuration slot (not one in use: B09.FR.21). */
const SLOT_VARIABLE = isPasswordVariable('NetworkConfiguration');

export function passwordWriteIn(
  version: OcppVersion,
  action: string,
  payload: unknown,
): PasswordWrite | undefined {
  const p = asRecord(payload);
  if (version === 'ocpp1.6') {
    // 1.6 whitepaper A01.FR.02: ChangeConfiguration of the AuthorizationKey configuration key.
    if (action !== 'ChangeConfiguration' || !sameName(p.key, 'AuthorizationKey')) return undefined;
    return typeof p.value === 'string' ? { value: p.value, kind: 'active' } : undefined;
  }
  if (version === 'ocpp2.1' && action === 'SetNetworkProfile') {
    // 2.1 B09.FR.14: the CSMS SHOULD set the BasicAuth password with the network profile.
    const data = asRecord(p.connectionData);
    if (typeof data.basicAuthPassword !== 'string') return undefined;
    return {
      value: data.basicAuthPassword,
      kind: 'staged',
      ...(typeof data.identity === 'string' ? { identity: data.identity } : {}),
    };
  }
  if (action !== 'SetVariables' || !Array.isArray(p.setVariableData)) return undefined;
  // 2.0.1/2.1 A01.FR.02. Several writes of the variable in one request: applied in order.
  const entries = p.setVariableData.map(asRecord);
  const active = entries.findLast(ACTIVE_VARIABLE);
  if (typeof active?.attributeValue === 'string') return { value: active.attributeValue, kind: 'active' };
  const slot = version === 'ocpp2.1' ? entries.findLast(SLOT_VARIABLE) : undefined;
  return typeof slot?.attributeValue === 'string'
    ? { value: slot.attributeValue, kind: 'staged' }
    : undefined;
}

/** The station's status for the password write ('Accepted', 'Rejected', …), if its answer names one. */
export function passwordWriteStatus(
  version: OcppVersion,
  response: unknown,
  write: Pick<PasswordWrite, 'kind'> = { kind: 'active' },
  action = '',
): string | undefined {
  const r = asRecord(response);
  if (version === 'ocpp1.6' || action === 'SetNetworkProfile') {
    return typeof r.status === 'string' ? r.status : undefined;
  }
  if (!Array.isArray(r.setVariableResult)) return undefined;
  const entry = r.setVariableResult
    .map(asRecord)
    .findLast(write.kind === 'active' ? ACTIVE_VARIABLE : SLOT_VARIABLE);
  return typeof entry?.attributeStatus === 'string' ? entry.attributeStatus : undefined;
}

export function outcomeOf(
  status: string | undefined,
  kind: PasswordWrite['kind'] = 'active',
): PasswordOutcome {
  // A01.FR.03. A staged password is taken, but used only once the station switches to its profile.
  if (status === 'Accepted') return kind === 'active' ? 'changed' : 'staged';
  // Stored by the station, used after its reboot (1.6 A01.FR.04 lists only Rejected/NotSupported).
  if (status === 'RebootRequired') return 'staged';
  // No status: an answer we cannot read, so we cannot know.
  if (status === undefined) return 'unconfirmed';
  return 'unchanged';
}

export interface PasswordRotationOptions {
  state: SecurityState;
  /** False when the connector checks no Basic passwords: then nothing is stored. */
  checksPasswords: boolean;
  logger: Logger;
  now?: () => Date;
  counters?: Pick<
    SecurityCounters,
    'passwordsChanged' | 'passwordsStaged' | 'passwordsUnconfirmed' | 'passwordsUnchanged'
  >;
}

const OUTCOME_COUNTER = {
  changed: 'passwordsChanged',
  staged: 'passwordsStaged',
  unconfirmed: 'passwordsUnconfirmed',
  unchanged: 'passwordsUnchanged',
} as const;

export class PasswordRotation {
  private readonly opts: PasswordRotationOptions;
  private readonly counters: NonNullable<PasswordRotationOptions['counters']>;

  constructor(opts: PasswordRotationOptions) {
    this.opts = opts;
    this.counters = opts.counters ?? newSecurityCounters();
  }

  /**
   * `generated`: the password is one `rotatePassword` made (≥ 119 random bits), so its verifier
   * is a fast salted hash rather than scrypt (see passwords.ts).
   */
  async intercept(
    session: ChargePointSession,
    action: string,
    payload: unknown,
    send: () => Promise<unknown>,
    generated = false,
  ): Promise<unknown> {
    const version = session.spec.version;
    const write = passwordWriteIn(version, action, payload);
    if (write === undefined) return send();
    const { logger, state } = this.opts;
    const id = session.id;
    if (!this.opts.checksPasswords) {
      logger.info(
        { chargePointId: id, action },
        'password set on a charge point of a connector without Basic authentication: not stored',
      );
      return send();
    }
    if (write.identity !== undefined && write.identity !== identityOf(id)) {
      // The station would connect under another identity, i.e. as another charge point id here,
      // which its URL only tells: the password is kept for this id, where it is of no use.
      logger.warn(
        { chargePointId: id, action },
        'network profile names another identity: its password is stored for this charge point id only',
      );
    }
    const forms = passwordForms(version, write.value);
    const verifiers = generated
      ? forms.map((f) => hashGeneratedPassword(f))
      : await Promise.all(forms.map((f) => hashPassword(f)));
    const since = this.now();
    // Durable before the station can apply the password (A01: it reconnects with it at once).
    await state.updatePassword(id, (record) => ({
      ...record,
      pending: { verifiers, since },
      updatedAt: since,
    }));
    logger.info(
      { chargePointId: id, action },
      write.kind === 'active'
        ? 'setting a new Basic password on the charge point'
        : 'setting the Basic password of a network connection profile on the charge point',
    );
    let response: unknown;
    try {
      response = await send();
    } catch (err) {
      // A CALLERROR (or a CALL never sent) changed nothing on the station; silence may have.
      const notApplied = err instanceof OcppCallError || err instanceof OcppError;
      await this.settle(id, notApplied ? 'unchanged' : 'unconfirmed', verifiers, String(err));
      throw err;
    }
    const status = passwordWriteStatus(version, response, write, action);
    await this.settle(id, outcomeOf(status, write.kind), verifiers, status ?? 'no status for the password');
    return response;
  }

  private async settle(
    id: string,
    outcome: PasswordOutcome,
    verifiers: string[],
    why: string,
  ): Promise<void> {
    const { logger, state } = this.opts;
    const now = this.now();
    this.counters[OUTCOME_COUNTER[outcome]]++;
    switch (outcome) {
      case 'changed':
        // A01.FR.03: the previous credentials are no longer accepted.
        await state.updatePassword(id, () => ({ current: verifiers, updatedAt: now }));
        logger.info(
          { chargePointId: id },
          'charge point accepted its new password: only the new one is admitted from its next connection',
        );
        return;
      case 'staged':
        // Admitted beside the current one until the station first logs in with it, which then
        // makes it the only one (HandshakeAdmission).
        await state.updatePassword(id, (record) => {
          if (record?.pending === undefined || record.pending.verifiers[0] !== verifiers[0]) return undefined;
          return { ...record, pending: { ...record.pending, untilUsed: true }, updatedAt: now };
        });
        logger.info(
          { chargePointId: id, reason: why },
          'charge point took a password it uses later: the old and the new one are admitted until it logs in with the new one',
        );
        return;
      case 'unchanged':
        // A01.FR.04: the station keeps its password, so do we.
        await state.updatePassword(id, (record) => {
          if (record?.pending === undefined || record.pending.verifiers[0] !== verifiers[0]) return undefined;
          return record.current === undefined ? null : { current: record.current, updatedAt: now };
        });
        logger.warn(
          { chargePointId: id, reason: why },
          'charge point did not take the new password: the old one stays',
        );
        return;
      case 'unconfirmed':
        logger.warn(
          { chargePointId: id, reason: why },
          'password change not confirmed: the old and the new password are admitted until the charge point logs in with one',
        );
        return;
    }
  }

  private now(): string {
    return (this.opts.now?.() ?? new Date()).toISOString();
  }
}
