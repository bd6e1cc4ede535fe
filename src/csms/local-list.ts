/**
 * The `syncLocalList` RPC: puts the gateway's idToken list (ocpp.json `authorization.idTokens`
 * merged with `ocppIdTokens`) into a station's Local Authorization List (OCPP 1.6 §5.15 /
 * 2.0.1 D01), versioned. The version last installed and a digest of its content are kept per
 * charge point in the StateStore: when the station reports that version (GetLocalListVersion,
 * 1.6 §5.10 / 2.0.1 D02) and the list has not changed, nothing is sent.
 */
import { createHash } from 'node:crypto';
import type { OcppVersion } from '../config/types.js';
import type { ConnectionView } from '../connector/features.js';
import { RpcRefusedError } from '../connector/features.js';
import type { RecordStore } from '../outbox/types.js';
import type { ListedToken } from './id-token-directory.js';
import { idTagInfo, idTokenInfo } from './id-token-info.js';

const NAMESPACE = 'local-list';

interface Installed {
  version: number;
  digest: string;
}

/** Longest idToken each version's SendLocalList carries (1.6 IdToken CiString20; 2.0.1 36; 2.1 255). */
const MAX_TOKEN: Record<OcppVersion, number> = { 'ocpp1.6': 20, 'ocpp2.0.1': 36, 'ocpp2.1': 255 };

export interface LocalListResult {
  status: string;
  listVersion: number;
  entries: number;
  /** Tokens left out because this version cannot carry them (too long). */
  skipped?: number;
}

export async function syncLocalList(
  connection: ConnectionView,
  params: unknown,
  tokens: ListedToken[],
  state: RecordStore,
  now: Date,
): Promise<LocalListResult> {
  const { version, chargePointId } = connection;
  const force =
    typeof params === 'object' && params !== null && (params as Record<string, unknown>).force === true;
  const fits = tokens.filter((t) => t.token.length <= MAX_TOKEN[version]);
  const list = fits
    .map((t) => authorizationData(version, t, now))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((a) => a.data);
  const digest = createHash('sha256').update(JSON.stringify(list)).digest('hex');
  const skipped = tokens.length - fits.length;

  const installed = asInstalled(await state.getRecord(NAMESPACE, chargePointId));
  const answer = (await connection.call('GetLocalListVersion', {})) as Record<string, unknown>;
  const stationVersion = Number(version === 'ocpp1.6' ? answer.listVersion : answer.versionNumber);
  if (!Number.isInteger(stationVersion))
    throw new RpcRefusedError('GetLocalListVersion gave no version number');
  // OCPP 1.6 §5.10: -1 = the charge point has no Local Authorization List.
  if (stationVersion < 0)
    throw new RpcRefusedError('the charge point does not support a Local Authorization List');
  const result = (status: string, listVersion: number): LocalListResult => ({
    status,
    listVersion,
    entries: list.length,
    ...(skipped > 0 ? { skipped } : {}),
  });
  if (!force && installed && installed.version === stationVersion && installed.digest === digest) {
    return result('UpToDate', stationVersion);
  }
  const next = Math.max(installed?.version ?? 0, stationVersion) + 1;
  const payload: Record<string, unknown> =
    version === 'ocpp1.6'
      ? { listVersion: next, updateType: 'Full' }
      : { versionNumber: next, updateType: 'Full' };
  // 2.x requires at least one item when the list is present; an empty Full list clears it.
  if (list.length > 0) payload.localAuthorizationList = list;
  const sent = (await connection.call('SendLocalList', payload)) as Record<string, unknown>;
  const status = typeof sent.status === 'string' ? sent.status : 'Unknown';
  if (status === 'Accepted')
    await state.putRecord(NAMESPACE, chargePointId, { version: next, digest } satisfies Installed);
  return result(status, status === 'Accepted' ? next : stationVersion);
}

function authorizationData(
  version: OcppVersion,
  t: ListedToken,
  now: Date,
): { key: string; data: Record<string, unknown> } {
  const expired =
    t.entry.status === 'Accepted' &&
    t.entry.expiryDate !== undefined &&
    Date.parse(t.entry.expiryDate) <= now.getTime();
  const info = { ...t.entry, status: expired ? ('Expired' as const) : t.entry.status };
  if (version === 'ocpp1.6') return { key: t.token, data: { idTag: t.token, idTagInfo: idTagInfo(info) } };
  return {
    key: t.token,
    data: {
      idToken: { idToken: t.token, type: t.entry.type ?? 'ISO14443' },
      idTokenInfo: idTokenInfo(version, info),
    },
  };
}

function asInstalled(v: unknown): Installed | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  return typeof r.version === 'number' && typeof r.digest === 'string'
    ? { version: r.version, digest: r.digest }
    : undefined;
}
