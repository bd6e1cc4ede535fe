/**
 * What the connector shows an operator (the status page and JSON API read these) and the counts
 * of RPC outcomes. Views are built on request from the live connections; nothing is copied per
 * message.
 */
import { OcppCallError, OcppError, OcppSessionError, OcppTimeoutError } from '../ocpp/errors.js';
import type { OcppVersion } from '../ocpp/versions.js';
import type { DeviceIdentity } from '../outbox/types.js';
import type { ChargePointActivity, ConnectorStatus } from './activity.js';

/** Longest frame trace an operator can ask for at once. */
export const MAX_TRACE_MINUTES = 24 * 60;

export interface RpcCounters {
  /** The charge point answered with a CALLRESULT. */
  ok: number;
  /** The charge point answered with a CALLERROR. */
  callError: number;
  timeout: number;
  /** The payload or rendered valueExpression failed validation: never sent. */
  invalid: number;
  /** No live connection, or it closed before the answer, or too many calls were waiting. */
  notConnected: number;
  /** Neither a serverSideRpc entry nor an OCPP action the Central System sends in that version. */
  unknownMethod: number;
  /** Not sent: the Central System refused it (registration not Accepted, remote start not authorized). */
  refused: number;
  /** `withResponse: false` entries: sent, no reply expected. */
  noReply: number;
}

export function newRpcCounters(): RpcCounters {
  return {
    ok: 0,
    callError: 0,
    timeout: 0,
    invalid: 0,
    notConnected: 0,
    unknownMethod: 0,
    refused: 0,
    noReply: 0,
  };
}

/** Which counter a failed downlink call goes to. */
export function rpcFailureKind(err: unknown): keyof RpcCounters {
  if (err instanceof OcppCallError) return 'callError';
  if (err instanceof OcppTimeoutError) return 'timeout';
  if (err instanceof OcppSessionError) return 'notConnected';
  if (err instanceof OcppError) return 'invalid';
  return 'callError';
}

/**
 * An open transaction as an operator sees it (status page, JSON API), from the sessions feature
 * (src/csms/sessions-feature.ts), which keeps open transactions in the StateStore.
 */
export interface TransactionView {
  /** The station's (2.x) or the gateway's (1.6) transaction id. */
  id: string;
  /** 2.x EVSE, or the 1.6 connector. */
  evseId?: number;
  connectorId?: number;
  /** RFC 3339; the first event seen when the start was not (`partial`). */
  startedAt?: string;
  /** Energy delivered so far in this transaction, Wh. */
  energyWh?: number;
  /** Power at the last reading, W. */
  powerW?: number;
  /** Masked or hashed as `authorization.idTokenInTelemetry` says: never in clear. */
  idToken?: string;
  /** The start of the transaction was not seen. */
  partial?: boolean;
}

export interface ChargePointView {
  id: string;
  connector: string;
  device: DeviceIdentity;
  /** Whether `device` came from a BootNotification (or an earlier connection) or is the default. */
  deviceAnnounced: boolean;
  ocppVersion: OcppVersion;
  connectedSince: string;
  remoteAddress: string;
  remotePort: number;
  /** OCPP security profile of this connection (1, 2 or 3). */
  securityProfile?: number;
  lastMessage: { action: string | undefined; at: string } | undefined;
  frames: { in: number; out: number };
  connectors: ConnectorStatus[];
  /** Open transactions; empty until a transaction tracker provides them. */
  transactions: TransactionView[];
  /** While the charge point's frames are logged at info on an operator's request. */
  tracedUntil: string | undefined;
}

export interface FrameView {
  at: string;
  direction: 'in' | 'out';
  frame: string;
}

export interface ChargePointDetail extends ChargePointView {
  /** Recent frames, oldest first (redacted); capture starts with the first request for them. */
  recentFrames: FrameView[];
}

export function chargePointView(opts: {
  id: string;
  connector: string;
  version: OcppVersion;
  device: DeviceIdentity;
  deviceAnnounced: boolean;
  activity: ChargePointActivity;
  tracedUntil: number | undefined;
}): ChargePointView {
  const { activity } = opts;
  return {
    id: opts.id,
    connector: opts.connector,
    device: opts.device,
    deviceAnnounced: opts.deviceAnnounced,
    ocppVersion: opts.version,
    connectedSince: new Date(activity.connectedAt).toISOString(),
    remoteAddress: activity.peer.address,
    remotePort: activity.peer.port,
    ...(activity.securityProfile === undefined ? {} : { securityProfile: activity.securityProfile }),
    lastMessage:
      activity.lastInAt === 0
        ? undefined
        : { action: activity.lastInAction, at: new Date(activity.lastInAt).toISOString() },
    frames: { in: activity.framesIn, out: activity.framesOut },
    connectors: activity.connectorStatuses(),
    transactions: [],
    tracedUntil:
      opts.tracedUntil !== undefined && opts.tracedUntil > Date.now()
        ? new Date(opts.tracedUntil).toISOString()
        : undefined,
  };
}

export function recentFrames(activity: ChargePointActivity): FrameView[] {
  return (activity.frames?.list() ?? []).map((f) => ({
    at: new Date(f.at).toISOString(),
    direction: f.direction,
    frame: f.text,
  }));
}
