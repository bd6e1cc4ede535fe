/**
 * Open transactions per charge point, kept in the StateStore (namespace `transactions`) so that a
 * restart, or a reconnect to another gateway on a shared store, finds them; and the session
 * record a transaction becomes when it ends.
 *
 * OCPP 1.6 transactions carry the gateway's ids (StartTransaction.conf, never reused); 2.0.1/2.1
 * the station's (TransactionEvent transactionInfo.transactionId, E01). An "EVSE" here is a 2.x
 * EVSE, or a 1.6 connector (a 1.6 connector is what 2.x calls an EVSE with one connector).
 */
import type { RecordStore } from '../outbox/types.js';
import type { MeterReading } from './meter.js';

const NAMESPACE = 'transactions';

export interface OpenTransaction {
  chargePointId: string;
  transactionId: string;
  evseId?: number;
  connectorId?: number;
  /** Masked or hashed, as configured: the state store never holds a token in clear. */
  idToken?: string;
  /** RFC 3339; the first event seen when the start was not (then `partial`). */
  start: string;
  meterStartWh?: number;
  lastMeterWh?: number;
  powerW?: number;
  maxPowerW?: number;
  /** Seconds of charging before `chargingSince` (2.x chargingState / 1.6 status Charging). */
  chargingSeconds: number;
  /** RFC 3339: charging since then, not yet counted. */
  chargingSince?: string;
  /** True once the station told whether the EV is charging: cost per minute then counts charging time. */
  chargingKnown: boolean;
  /** Milliseconds: when the station was last sent CostUpdated. */
  costUpdatedAt?: number;
  /** The start of the transaction was not seen (the gateway lost it, or it began elsewhere). */
  partial?: boolean;
}

/** Telemetry `session` when a transaction ends. */
export interface SessionRecord {
  transactionId: string;
  idToken?: string;
  evseId?: number;
  connectorId?: number;
  start?: string;
  stop: string;
  durationSeconds?: number;
  energyWh?: number;
  maxPowerW?: number;
  stopReason: string;
  cost?: number;
  currency?: string;
  partial?: boolean;
}

/**
 * Keys are `<length of the id>:<charge point id>|<transaction id>`: a charge point id may contain
 * any character, and the length prefix keeps `CP|1`'s records apart from `CP`'s.
 */
function prefixOf(chargePointId: string): string {
  return `${chargePointId.length}:${chargePointId}|`;
}

export class TransactionBook {
  private readonly state: RecordStore;

  constructor(state: RecordStore) {
    this.state = state;
  }

  /**
   * Every open transaction of a charge point: read when a connection starts tracking them and for
   * a charge point that is not connected (a live one's are kept with its connection).
   */
  async open(chargePointId: string): Promise<OpenTransaction[]> {
    const all = await this.state.listRecords(NAMESPACE, prefixOf(chargePointId));
    return [...all.values()].filter(isOpenTransaction);
  }

  put(tx: OpenTransaction): Promise<void> {
    return this.state.putRecord(NAMESPACE, prefixOf(tx.chargePointId) + tx.transactionId, tx);
  }

  remove(tx: OpenTransaction): Promise<void> {
    return this.state.deleteRecord(NAMESPACE, prefixOf(tx.chargePointId) + tx.transactionId);
  }
}

function isOpenTransaction(v: unknown): v is OpenTransaction {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Record<string, unknown>;
  return (
    typeof t.chargePointId === 'string' && typeof t.transactionId === 'string' && typeof t.start === 'string'
  );
}

/** Adds a meter reading: the first register value is the start when the station gave none. */
export function applyReading(tx: OpenTransaction, reading: MeterReading): void {
  if (reading.energyWh !== undefined) {
    tx.meterStartWh ??= reading.energyWh;
    tx.lastMeterWh = reading.energyWh;
  }
  if (reading.powerW !== undefined) {
    tx.powerW = reading.powerW;
    tx.maxPowerW = Math.max(tx.maxPowerW ?? 0, reading.powerW);
  }
}

/** The EV started or stopped drawing energy at `at` (RFC 3339). */
export function applyCharging(tx: OpenTransaction, charging: boolean, at: string): void {
  tx.chargingKnown = true;
  if (charging) {
    tx.chargingSince ??= at;
    return;
  }
  if (tx.chargingSince !== undefined) {
    tx.chargingSeconds += secondsBetween(tx.chargingSince, at);
    delete tx.chargingSince;
  }
}

/** Energy so far: register now minus register at start, never negative (a meter may be replaced). */
export function energySoFar(tx: OpenTransaction): number | undefined {
  if (tx.meterStartWh === undefined || tx.lastMeterWh === undefined) return undefined;
  const e = tx.lastMeterWh - tx.meterStartWh;
  return e >= 0 ? e : undefined;
}

/** Seconds to bill per minute: charging time when the station reports it, else the whole duration. */
export function billableSeconds(tx: OpenTransaction, at: string): number {
  if (!tx.chargingKnown) return secondsBetween(tx.start, at);
  return tx.chargingSeconds + (tx.chargingSince === undefined ? 0 : secondsBetween(tx.chargingSince, at));
}

export function secondsBetween(from: string, to: string): number {
  const d = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(d) && d > 0 ? Math.round(d) : 0;
}

/** The session record of a transaction that ended at `stop`. */
export function sessionRecord(
  tx: OpenTransaction,
  stop: string,
  stopReason: string,
  cost?: { amount: number; currency: string },
): SessionRecord {
  const record: SessionRecord = { transactionId: tx.transactionId, stop, stopReason };
  if (tx.idToken !== undefined) record.idToken = tx.idToken;
  if (tx.evseId !== undefined) record.evseId = tx.evseId;
  if (tx.connectorId !== undefined) record.connectorId = tx.connectorId;
  if (tx.partial) record.partial = true;
  else {
    record.start = tx.start;
    record.durationSeconds = secondsBetween(tx.start, stop);
  }
  const energy = energySoFar(tx);
  if (energy !== undefined) record.energyWh = energy;
  if (tx.maxPowerW !== undefined) record.maxPowerW = tx.maxPowerW;
  if (cost) {
    record.cost = cost.amount;
    record.currency = cost.currency;
  }
  return record;
}
