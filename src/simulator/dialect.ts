/**
 * What differs between OCPP 1.6 and 2.x for a simulated station: how it boots, reports status,
 * runs a session and answers the Central System. The station (station.ts) drives the life cycle;
 * a dialect turns each step into that version's messages.
 */
import type { StationClient } from './client.js';
import type { Random, Sample, SessionMeter } from './meter.js';

/** A connector's state in version-neutral terms (1.6 reports them as such; 2.x as Occupied …). */
export type ConnectorPhase = 'available' | 'preparing' | 'charging' | 'finishing' | 'unavailable';

export interface Session {
  /** 1.6: the integer the Central System assigned; 2.x: the id the station chose. */
  transactionId: string | number;
  idTag: string;
  meter: SessionMeter;
  /** 2.x TransactionEvent sequence number. */
  seqNo: number;
  remoteStartId?: number;
}

export interface ConnectorState {
  /** 1.6 connectorId; 2.x EVSE id (each EVSE has one connector, id 1). */
  id: number;
  phase: ConnectorPhase;
  session: Session | undefined;
  /** Energy register of this connector's meter, Wh. */
  registerWh: number;
}

/** The station as a dialect sees it: its connection, state and the actions it may trigger. */
export interface StationContext {
  readonly id: string;
  readonly client: StationClient;
  readonly connectors: readonly ConnectorState[];
  readonly random: Random;
  readonly settings: Map<string, string>;
  now(): number;
  /** Starts a session on a connector for a remote start; false when none is free. */
  remoteStart(idTag: string, connectorId: number | undefined, remoteStartId?: number): boolean;
  /** Stops the session with this transaction id; false when there is none. */
  remoteStop(transactionId: string | number): boolean;
  /** Reboots after answering (close the socket, reconnect, boot again). */
  reboot(): void;
  /** Sends a message the Central System asked for with TriggerMessage. */
  trigger(message: string, connectorId: number | undefined): boolean;
}

/** The Central System's answer to a boot: any status but Accepted means "boot again after interval". */
export interface BootAnswer {
  status: string;
  /** Seconds: the heartbeat interval when Accepted, else the wait before the next boot (0: unspecified). */
  interval: number;
}

/** Why a session ends; DeAuthorized: the Central System refused the idTag at the start. */
export type StopReason = 'Local' | 'Remote' | 'Reboot' | 'DeAuthorized';

export interface Dialect {
  boot(ctx: StationContext, reason: 'PowerUp' | 'RemoteReset' | 'Triggered'): Promise<BootAnswer>;
  heartbeat(ctx: StationContext): Promise<void>;
  status(ctx: StationContext, connector: ConnectorState): Promise<void>;
  authorize(ctx: StationContext, idTag: string): Promise<boolean>;
  /**
   * Opens the transaction (connector.session is set, its meter started); false when the Central
   * System's answer refuses the idTag (the station then ends it as DeAuthorized).
   */
  startTransaction(ctx: StationContext, connector: ConnectorState, remote: boolean): Promise<boolean>;
  meterValues(
    ctx: StationContext,
    connector: ConnectorState,
    sample: Sample,
    periodic: boolean,
  ): Promise<void>;
  stopTransaction(ctx: StationContext, connector: ConnectorState, reason: StopReason): Promise<void>;
  /** Registers the answers to the Central System's CALLs. */
  installHandlers(ctx: StationContext): void;
  /** Initial configuration keys / variables. */
  defaultSettings(): [string, string][];
  /** The setting that holds the meter interval, seconds. */
  readonly meterIntervalSetting: string;
  readonly heartbeatSetting: string;
}

/** A BootNotification response (1.6 and 2.x alike) as a BootAnswer; 300 s when it gives no interval. */
export function bootAnswer(answer: Record<string, unknown>): BootAnswer {
  return {
    status: String(answer.status),
    interval: typeof answer.interval === 'number' ? answer.interval : 300,
  };
}

/** Whether an idTagInfo / idTokenInfo in an answer admits the token (absent: nothing refused). */
export function admitted(info: unknown): boolean {
  if (typeof info !== 'object' || info === null) return true;
  return (info as { status?: unknown }).status === 'Accepted';
}

/** The idTag of a new local session: one of `--id-tags` when given, else a random card. */
export function sessionIdTag(random: Random, idTags: readonly string[]): string {
  return idTags.length > 0 ? random.pick(idTags) : newIdTag(random);
}

/** An RFID-card-like idTag: 8 bytes of hex, as many readers report them. */
export function newIdTag(random: Random): string {
  let out = '';
  for (let i = 0; i < 8; i++)
    out += Math.floor(random.next() * 256)
      .toString(16)
      .padStart(2, '0');
  return out.toUpperCase();
}
