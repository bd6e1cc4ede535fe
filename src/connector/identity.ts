/**
 * Which ThingsBoard device a charge point is: from its BootNotification (every boot field,
 * `${Vendor}`, `${Model}`, `${ChargePointId}`), or — before a boot — what can be known without one.
 */
import type { ChargePointConfig, OcppVersion } from '../config/types.js';
import type { CompiledTemplate } from '../expressions/types.js';
import type { DeviceIdentity } from '../outbox/types.js';
import { bootAliases } from './answers.js';
import { DEFAULT_DEVICE_TYPE } from './registry.js';

/** A template whose every placeholder is `${ChargePointId}` renders without boot data. */
function needsOnlyId(template: CompiledTemplate): boolean {
  return template.placeholders.every((p) => p === 'ChargePointId');
}

function rendered(template: CompiledTemplate, scope: Record<string, unknown>): string | undefined {
  const r = template.render(scope);
  return r.ok && String(r.value).trim() !== '' ? String(r.value) : undefined;
}

export interface BootIdentity {
  identity: DeviceIdentity;
  /** The placeholder that did not resolve in deviceNameExpression, if any. */
  unresolved?: string;
}

export function bootIdentity(
  entry: ChargePointConfig,
  version: OcppVersion,
  chargePointId: string,
  payload: Record<string, unknown>,
): BootIdentity {
  const scope = { ...payload, ...bootAliases(version, payload), ChargePointId: chargePointId };
  const name = entry.deviceNameExpression.render(scope);
  const identity: DeviceIdentity = {
    name: rendered(entry.deviceNameExpression, scope) ?? chargePointId,
    type: rendered(entry.deviceTypeExpression, scope) ?? DEFAULT_DEVICE_TYPE,
  };
  return name.ok ? { identity } : { identity, unresolved: name.missing };
}

export interface ProvisionalIdentity {
  identity: DeviceIdentity;
  /** Name and type are what a boot would give: the device can be announced at once. */
  complete: boolean;
}

/**
 * What a charge point that has not booted is called: deviceNameExpression when it needs only
 * `${ChargePointId}`, else the charge point id; its type likewise, else `default`.
 */
export function provisionalIdentity(entry: ChargePointConfig, chargePointId: string): ProvisionalIdentity {
  const scope = { ChargePointId: chargePointId };
  const nameKnown = needsOnlyId(entry.deviceNameExpression);
  const typeKnown = needsOnlyId(entry.deviceTypeExpression);
  return {
    identity: {
      name: (nameKnown ? rendered(entry.deviceNameExpression, scope) : undefined) ?? chargePointId,
      type: (typeKnown ? rendered(entry.deviceTypeExpression, scope) : undefined) ?? DEFAULT_DEVICE_TYPE,
    },
    complete: nameKnown && typeKnown,
  };
}
