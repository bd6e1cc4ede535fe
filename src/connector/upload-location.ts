/**
 * GetLog (2.x; 1.6 security extension) and GetDiagnostics (1.6) name the URL the station uploads
 * to. When the operator leaves it out of the RPC and the gateway receives uploads itself
 * (`statusServer.uploads`), the gateway fills in an upload URL of its own, one per request. A
 * location the operator gives is sent as it is; without uploads configured nothing changes (the
 * location is required, and a request without one is refused as invalid).
 */
import { isRecord } from '../config/keys.js';
import type { OcppVersion } from '../ocpp/versions.js';

export interface UploadRequest {
  connector: string;
  chargePointId: string;
  action: string;
  requestId?: number;
}

/** Hands out upload URLs (status/uploads.ts). */
export interface UploadLocations {
  issue(request: UploadRequest): { url: string } | { error: string };
}

const missing = (v: unknown): boolean => v === undefined || v === '';

/**
 * The payload to send: `params` itself, or a copy with the gateway's upload URL where the location
 * was left out; an error when one is needed and none can be had.
 */
export function withUploadLocation(
  version: OcppVersion,
  action: string,
  params: unknown,
  issue: (requestId: number | undefined) => { url: string } | { error: string },
): { payload: unknown } | { error: string } {
  if (!isRecord(params)) return { payload: params };
  const requestId = Number.isSafeInteger(params.requestId) ? (params.requestId as number) : undefined;
  if (action === 'GetDiagnostics' && version === 'ocpp1.6') {
    if (!missing(params.location)) return { payload: params };
    const issued = issue(requestId);
    return 'error' in issued ? issued : { payload: { ...params, location: issued.url } };
  }
  if (action === 'GetLog') {
    const log = params.log;
    if (log !== undefined && !isRecord(log)) return { payload: params };
    if (isRecord(log) && !missing(log.remoteLocation)) return { payload: params };
    const issued = issue(requestId);
    return 'error' in issued
      ? issued
      : { payload: { ...params, log: { ...(log ?? {}), remoteLocation: issued.url } } };
  }
  return { payload: params };
}
