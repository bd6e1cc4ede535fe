/**
 * A decision in each version's wire form: OCPP 1.6 IdTagInfo (status, expiryDate, parentIdTag)
 * and OCPP 2.0.1/2.1 IdTokenInfoType (status, cacheExpiryDateTime, groupIdToken).
 */
import type { AuthorizationStatus } from '../config/csms-types.js';
import type { OcppVersion } from '../config/types.js';

/** OCPP 1.6 AuthorizationStatus: the 2.x-only statuses have no 1.6 spelling. */
const OCPP16_STATUSES: ReadonlySet<AuthorizationStatus> = new Set([
  'Accepted',
  'Blocked',
  'Expired',
  'Invalid',
  'ConcurrentTx',
]);

export interface InfoSource {
  status: AuthorizationStatus;
  expiryDate?: string;
  groupId?: string;
}

/** 2.x-only statuses (NoCredit, NotAtThisLocation, …) become Invalid: the token may not charge. */
export function status16(status: AuthorizationStatus): AuthorizationStatus {
  return OCPP16_STATUSES.has(status) ? status : 'Invalid';
}

/** OCPP 1.6 IdTagInfo; parentIdTag is an IdToken of at most 20 characters. */
export function idTagInfo(d: InfoSource): Record<string, unknown> {
  const info: Record<string, unknown> = { status: status16(d.status) };
  if (d.expiryDate !== undefined) info.expiryDate = d.expiryDate;
  if (d.groupId !== undefined && d.groupId.length <= 20) info.parentIdTag = d.groupId;
  return info;
}

/**
 * OCPP 2.x IdTokenInfoType. The group is sent as an idToken of type Central (a CSMS-generated
 * identifier; 2.0.1 C09 compares group ids, not types); 2.0.1 allows 36 characters, 2.1 255.
 */
export function idTokenInfo(version: OcppVersion, d: InfoSource): Record<string, unknown> {
  const info: Record<string, unknown> = { status: d.status };
  if (d.expiryDate !== undefined) info.cacheExpiryDateTime = d.expiryDate;
  const max = version === 'ocpp2.0.1' ? 36 : 255;
  if (d.groupId !== undefined && d.groupId.length <= max) {
    info.groupIdToken = { idToken: d.groupId, type: 'Central' };
  }
  return info;
}
