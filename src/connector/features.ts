/**
 * The connector's extension point: a feature (authorization, registration, sessions, …) plugs
 * behaviour into the connector per OCPP action instead of growing connector.ts. The connector
 * stays the one place that talks to the outbox and the WebSocket session; a feature sees a charge
 * point connection through ConnectionView, amends answers through CallContext, and may refuse a
 * CALL (admit), veto or observe a CALL the Central System sends (beforeSend), take a reserved RPC
 * method, and react to ThingsBoard attributes. Features are built from the connector's config,
 * so rebuilding them rebuilds their per-entry state; what must outlive them is in the StateStore.
 */
import type { ChargePointConfig, OcppVersion } from '../config/types.js';
import type { OcppError } from '../ocpp/errors.js';
import type { SharedAttributesUpdate } from '../thingsboard/device-channel.js';

/** What a feature sees of one live charge point connection. */
export interface ConnectionView {
  readonly chargePointId: string;
  readonly version: OcppVersion;
  readonly entry: ChargePointConfig;
  /** The ThingsBoard device this charge point is (announced, or the name it will be announced as). */
  device(): string;
  /** Sends a CALL to the charge point (validated against the schema; waits behind an outstanding one). */
  call(action: string, payload: unknown, timeoutMs?: number): Promise<unknown>;
  /**
   * Per-connection scratch state of features, keyed by the feature's own key; gone with the
   * connection. Only what may be lost on a reconnect belongs here (the rest goes to the StateStore).
   */
  readonly facts: Map<string, unknown>;
  /** Publishes datapoints of this charge point's device (stored in the outbox, announced first if needed). */
  publish(kind: 'telemetry' | 'attributes', values: Record<string, unknown>, ts?: number): void;
  /** False once the socket closed (or a newer connection replaced it). */
  isCurrent(): boolean;
}

/** One CALL from a charge point, while features amend its answer. */
export interface CallContext {
  readonly connection: ConnectionView;
  readonly action: string;
  readonly payload: Record<string, unknown>;
  readonly receivedAt: Date;
  /** The answer so far: the default table's, amended by the features before this one. */
  response: Record<string, unknown>;
  /** Datapoints published with this message: committed to the outbox before the answer is sent. */
  publish(kind: 'telemetry' | 'attributes', values: Record<string, unknown>, ts?: number): void;
  /**
   * Runs after the answer was handed to the socket (for a CALL the station should get after it).
   * A promise the task returns is waited for before this connection's next CALL is taken up (so
   * keep it short, e.g. a state store write; never a CALL's round trip).
   */
  afterAnswer(task: () => void | Promise<unknown>): void;
}

/** A CALL the Central System is about to send (an RPC from ThingsBoard). */
export interface SendContext {
  readonly connection: ConnectionView;
  readonly action: string;
  readonly payload: unknown;
}

/** Thrown by beforeSend (or a reserved RPC method): the RPC is not sent; ThingsBoard gets the message. */
export class RpcRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcRefusedError';
  }
}

export type CallHook = (ctx: CallContext) => void | Promise<void>;
export type RpcMethod = (connection: ConnectionView, params: unknown) => Promise<unknown>;

export interface ConnectorFeature {
  readonly name: string;
  /** Counters read by the stats line and the status surface. */
  readonly counters?: Readonly<Record<string, number>>;
  /**
   * Whether the feature has anything to do for charge points of this chargePoints entry (default
   * yes). A feature that does not apply costs such charge points nothing: their messages keep the
   * connector's synchronous path.
   */
  appliesTo?(entry: ChargePointConfig): boolean;
  /** Whether a CALL may be processed at all; an OcppError is sent back as the CALLERROR. */
  admit?(connection: ConnectionView, action: string): OcppError | undefined | Promise<OcppError | undefined>;
  /** Per action: amend the answer, publish, act. Run in feature order. */
  readonly onCall?: Readonly<Partial<Record<string, CallHook>>>;
  /** Before an RPC's CALL is sent; throw RpcRefusedError to refuse it. */
  beforeSend?(ctx: SendContext): void | Promise<void>;
  /** RPC methods this feature answers itself (e.g. `syncLocalList`). */
  readonly rpcMethods?: Readonly<Record<string, RpcMethod>>;
  /** A new connection (after any previous one of the same charge point was replaced). */
  onConnected?(connection: ConnectionView): void;
  /**
   * Shared attributes pushed by ThingsBoard for one of this connector's devices (live or not);
   * `connection` is the live one, if any.
   */
  onDeviceAttributes?(
    chargePointId: string,
    device: string,
    data: ReadonlyMap<string, unknown>,
    connection: ConnectionView | undefined,
  ): void;
  /** Shared attributes of the gateway device itself (e.g. `ocppIdTokens`). */
  onGatewayAttributes?(update: SharedAttributesUpdate): void;
  /** Every (re)connect to ThingsBoard. */
  onThingsBoardConnected?(): void;
  start?(): Promise<void>;
  stop?(): void;
}

/** What features need of ThingsBoard: the gateway device's own channel, as a small interface. */
export interface CsmsThingsBoardLink {
  /** Client-side RPC of the gateway device; resolves with ThingsBoard's answer. */
  requestRpc(method: string, params: unknown, timeoutMs: number): Promise<unknown>;
  /** The gateway device's shared attributes. */
  requestSharedAttributes(keys: readonly string[], timeoutMs: number): Promise<Map<string, unknown>>;
  /** Current shared attribute values of a device behind the gateway. */
  requestDeviceAttributes(
    device: string,
    keys: readonly string[],
    timeoutMs: number,
  ): Promise<Map<string, unknown>>;
}
