/**
 * From ThingsBoard back to a charge point: shared attribute updates and RPC, each turned into an
 * OCPP CALL (DataTransfer by default, or the action a config entry names, or — for RPC without a
 * config entry — the OCPP action the method is named after).
 */
import type { DownlinkTarget, RpcMapping } from '../config/types.js';
import { OcppCallError, OcppError } from '../ocpp/errors.js';
import type { ChargePointSession } from '../ocpp/session.js';

export const DEFAULT_RPC_TIMEOUT_MS = 30_000;

/** The reply data ThingsBoard gets for an RPC: `{result}` or `{error}`. */
export type RpcReplyData = { result: unknown } | { error: string };

/**
 * Renders a downlink target's valueExpression and sends it: as `target.action` with the rendered
 * JSON as payload, or as DataTransfer with the rendered text as `data`.
 */
export function sendDownlink(
  session: Pick<ChargePointSession, 'call'>,
  target: DownlinkTarget,
  scope: Record<string, unknown>,
  timeoutMs: number,
): Promise<unknown> {
  const rendered = target.valueExpression.render(scope);
  if (!rendered.ok) {
    return Promise.reject(
      new OcppError('FormatViolation', `valueExpression: \${${rendered.missing}} did not resolve`),
    );
  }
  if (target.action !== undefined) {
    let payload: unknown = rendered.value;
    if (typeof payload === 'string') {
      try {
        payload = JSON.parse(payload);
      } catch {
        return Promise.reject(
          new OcppError(
            'FormatViolation',
            `valueExpression did not render JSON for ${target.action}: ${payload}`,
          ),
        );
      }
    }
    return session.call(target.action, payload, timeoutMs);
  }
  const data = typeof rendered.value === 'string' ? rendered.value : JSON.stringify(rendered.value);
  const payload: Record<string, unknown> = { vendorId: target.vendorId, data };
  if (target.messageId !== undefined) payload.messageId = target.messageId;
  return session.call('DataTransfer', payload, timeoutMs);
}

/**
 * The reserved RPC methods `get` and `set` read and write one setting on any version:
 * 1.6 GetConfiguration/ChangeConfiguration, 2.x GetVariables/SetVariables.
 */
export function settingCall(
  session: ChargePointSession,
  method: 'get' | 'set',
  params: unknown,
): { action: string; payload: Record<string, unknown> } {
  const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
  const key = p.key ?? p.variable;
  if (typeof key !== 'string' || key === '') {
    throw new OcppError('FormatViolation', 'params need "key" (1.6) or "variable" (2.x)');
  }
  let value: string | undefined;
  if (method === 'set') {
    if (typeof p.value !== 'string' && typeof p.value !== 'number' && typeof p.value !== 'boolean') {
      throw new OcppError('FormatViolation', '"set" needs a "value" (text, number or boolean)');
    }
    value = String(p.value);
  }
  if (session.spec.version === 'ocpp1.6') {
    if (value === undefined) return { action: 'GetConfiguration', payload: { key: [key] } };
    return { action: 'ChangeConfiguration', payload: { key, value } };
  }
  // 2.x names a setting by component and variable; HeartbeatInterval and the other OCPP
  // communication settings live in OCPPCommCtrlr, the default when no component is given.
  const component: Record<string, unknown> = {
    name: typeof p.component === 'string' ? p.component : 'OCPPCommCtrlr',
  };
  if (typeof p.componentInstance === 'string') component.instance = p.componentInstance;
  const variable: Record<string, unknown> = { name: key };
  if (typeof p.variableInstance === 'string') variable.instance = p.variableInstance;
  const attributeType = typeof p.attributeType === 'string' ? { attributeType: p.attributeType } : {};
  if (value === undefined) {
    return {
      action: 'GetVariables',
      payload: { getVariableData: [{ component, variable, ...attributeType }] },
    };
  }
  return {
    action: 'SetVariables',
    payload: { setVariableData: [{ component, variable, attributeValue: value, ...attributeType }] },
  };
}

export function rpcTimeout(entry: RpcMapping | undefined): number {
  return entry?.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
}

/** A plain-words error for ThingsBoard; OCPP errors keep their code so an operator can act on it. */
export function describeFailure(err: unknown): string {
  if (err instanceof OcppCallError) return `charge point answered CALLERROR ${err.message}`;
  if (err instanceof OcppError) return `${err.kind}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
