/**
 * Basic-auth password changes that go through the gateway (OCPP 2.0.1 A01, 1.6 whitepaper A01),
 * whichever way ThingsBoard asks for them — the action-named RPC, the reserved `set` RPC, a
 * serverSideRpc or attributeUpdates entry, or the `rotatePassword` RPC: every CALL to a charge
 * point passes here before it is sent.
 *
 * The new password's verifiers are stored as "pending" before the CALL leaves, so a station that
 * applies it and then loses the answer is not locked out. The answer then decides:
 * Accepted → only the new password is admitted from the next connection (A01.FR.03); Rejected /
 * NotSupported / CALLERROR → the old one stays (A01.FR.04); no answer or RebootRequired → both are
 * admitted until the station logs in with one of them (see HandshakeAdmission).
 */
import type { OcppVersion } from '../config/types.js';
import type { Logger } from '../log.js';
import { OcppCallError, OcppError } from '../ocpp/errors.js';
import type { ChargePointSession } from '../ocpp/session.js';
import { newSecurityCounters, type SecurityCounters } from './counters.js';
import { hashPassword, passwordForms } from './passwords.js';
import type { SecurityState } from './state.js';

/** A password write found in an outgoing CALL. */
export interface PasswordWrite {
  value: string;
}

export type PasswordOutcome = 'changed' | 'unconfirmed' | 'unchanged';

const sameName = (a: unknown, b: string): boolean =>
  typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** 2.x: SecurityCtrlr.BasicAuthPassword, attribute Actual (the default). CiStrings: any case. */
function isPasswordVariable(entry: Record<string, unknown>): boolean {
  const type = entry.attributeType;
  return (
    sameName(asRecord(entry.component).name, 'SecurityCtrlr') &&
    sameName(asRecord(entry.variable).name, 'BasicAuthPassword') &&
    (type === undefined || type === 'Actual')
  );
}

export function passwordWriteIn(
  version: OcppVersion,
  action: string,
  payload: unknown,
): PasswordWrite | undefined {
  const p = asRecord(payload);
  if (version === 'ocpp1.6') {
    // 1.6 whitepaper A01.FR.02: ChangeConfiguration of the AuthorizationKey configuration key.
    if (action !== 'ChangeConfiguration' || !sameName(p.key, 'AuthorizationKey')) return undefined;
    return typeof p.value === 'string' ? { value: p.value } : undefined;
  }
  if (action !== 'SetVariables' || !Array.isArray(p.setVariableData)) return undefined;
  // Several writes of the variable in one request: the station applies them in order.
  const entry = p.setVariableData.map(asRecord).findLast(isPasswordVariable);
  return typeof entry?.attributeValue === 'string' ? { value: entry.attributeValue } : undefined;
}

/** The station's status for the password write ('Accepted', 'Rejected', …), if its answer names one. */
export function passwordWriteStatus(version: OcppVersion, response: unknown): string | undefined {
  const r = asRecord(response);
  if (version === 'ocpp1.6') return typeof r.status === 'string' ? r.status : undefined;
  if (!Array.isArray(r.setVariableResult)) return undefined;
  const entry = r.setVariableResult.map(asRecord).findLast(isPasswordVariable);
  return typeof entry?.attributeStatus === 'string' ? entry.attributeStatus : undefined;
}

export function outcomeOf(status: string | undefined): PasswordOutcome {
  if (status === 'Accepted') return 'changed';
  // RebootRequired: stored, used after a reboot; no status: an answer we cannot read.
  if (status === 'RebootRequired' || status === undefined) return 'unconfirmed';
  return 'unchanged';
}

export interface PasswordRotationOptions {
  state: SecurityState;
  /** False when the connector checks no Basic passwords: then nothing is stored. */
  checksPasswords: boolean;
  logger: Logger;
  now?: () => Date;
  counters?: Pick<SecurityCounters, 'passwordsChanged' | 'passwordsUnconfirmed' | 'passwordsUnchanged'>;
}

const OUTCOME_COUNTER = {
  changed: 'passwordsChanged',
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

  async intercept(
    session: ChargePointSession,
    action: string,
    payload: unknown,
    send: () => Promise<unknown>,
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
    const verifiers = await Promise.all(passwordForms(version, write.value).map((f) => hashPassword(f)));
    const since = this.now();
    // Durable before the station can apply the password (A01: it reconnects with it at once).
    await state.updatePassword(id, (record) => ({
      ...record,
      pending: { verifiers, since },
      updatedAt: since,
    }));
    logger.info({ chargePointId: id, action }, 'setting a new Basic password on the charge point');
    let response: unknown;
    try {
      response = await send();
    } catch (err) {
      // A CALLERROR (or a CALL never sent) changed nothing on the station; silence may have.
      const notApplied = err instanceof OcppCallError || err instanceof OcppError;
      await this.settle(id, notApplied ? 'unchanged' : 'unconfirmed', verifiers, String(err));
      throw err;
    }
    const status = passwordWriteStatus(version, response);
    await this.settle(id, outcomeOf(status), verifiers, status ?? 'no status for the password');
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
