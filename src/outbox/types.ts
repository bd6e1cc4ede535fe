/**
 * Store-and-forward between the connector (which appends what a charge point sent) and the
 * ThingsBoard publisher (which reads in order and removes only what the broker acknowledged).
 */
export type RecordKind = 'telemetry' | 'attributes' | 'connect' | 'disconnect';

export interface NewRecord {
  kind: RecordKind;
  /** ThingsBoard device name. */
  device: string;
  /**
   * JSON text of this record's part of the gateway-API payload:
   * telemetry `{"ts":1700000000000,"values":{"k":1}}`; attributes `{"k":1}`;
   * connect `{"type":"default"}`; disconnect `{}`.
   */
  body: string;
}

export interface StoredRecord extends NewRecord {
  /** Strictly increasing in append order, never reused within one database. */
  id: number;
  /** Milliseconds since the epoch when appended (for TTL expiry). */
  createdAt: number;
}

export interface OutboxCounters {
  appended: number;
  removed: number;
  /** Oldest records dropped because the outbox was full. */
  droppedOverflow: number;
  /** Records dropped because they were older than the TTL. */
  droppedExpired: number;
  /** Group commits made (sqlite) — appended / commits is the batching factor. */
  commits: number;
  /** Group commits that failed (sqlite: disk full, I/O error); their appends were rejected. */
  failedCommits: number;
}

export function emptyOutboxCounters(): OutboxCounters {
  return { appended: 0, removed: 0, droppedOverflow: 0, droppedExpired: 0, commits: 0, failedCommits: 0 };
}

export interface Outbox {
  /**
   * Why writes fail now, in words (sqlite: a commit failed and none landed since, or new records
   * are refused for want of disk, see outbox/space-guard.ts); undefined while they work. Only
   * stores that can fail to write have it.
   */
  writeProblem?(): string | undefined;
  /** Opens the store (creating the database and its folder); throws StorageError when it cannot. */
  open(): Promise<void>;
  /**
   * Adds records in order. The promise resolves once they are durable (sqlite: committed in a
   * grouped transaction; memory: at once). When the outbox is over `maxRecordsCount`, the oldest
   * records are dropped (counted, and a warning at most once a minute with the counts).
   */
  append(records: readonly NewRecord[]): Promise<void>;
  /** Up to `limit` records with id > afterId, oldest first. Synchronous and cheap. */
  readBatch(afterId: number, limit: number): StoredRecord[];
  /** Removes every record with fromId <= id <= toId (after the broker acknowledged them). */
  removeRange(fromId: number, toId: number): void;
  /** Records currently held. */
  size(): number;
  readonly counters: Readonly<OutboxCounters>;
  /** Registers a listener called (synchronously, after commit) whenever new records become readable. */
  onAppend(listener: () => void): void;
  /** Commits what is pending and closes the store. Idempotent. */
  close(): Promise<void>;
}

export interface DeviceIdentity {
  name: string;
  type: string;
}

/**
 * Facts kept per charge point (or per gateway) other than the device identity: open transactions,
 * cached authorization decisions, stored passwords, security profiles, … Each concern owns a
 * namespace; keys are its own (usually the charge point id, or id + "/" + something). Values are
 * JSON-serialisable and are stored as JSON text, so what a reader gets is a copy, never an alias
 * of what a writer still holds.
 *
 * Reads and writes are asynchronous so that the store can move to a shared database (several
 * gateways on PostgreSQL) without changing its callers. A write resolves once it is durable (with
 * SQLite: its group commit landed) and rejects with a StorageError when it could not be stored.
 */
export interface RecordStore {
  /** The value under (namespace, key), or undefined. Sees writes not yet committed. */
  getRecord(namespace: string, key: string): Promise<unknown>;
  /** Every record of a namespace whose key starts with `keyPrefix` (default: all), by key. */
  listRecords(namespace: string, keyPrefix?: string): Promise<Map<string, unknown>>;
  /** Stores `value` under (namespace, key), replacing what was there; resolves once durable. */
  putRecord(namespace: string, key: string, value: unknown): Promise<void>;
  /** Removes the record (nothing happens when there is none); resolves once durable. */
  deleteRecord(namespace: string, key: string): Promise<void>;
}

/**
 * What must survive a restart besides the outbox: the charge point id → device identity registry,
 * the transaction id counter (ids are never reused), and the namespaced records of RecordStore.
 */
export interface StateStore extends RecordStore {
  open(): Promise<void>;
  /** All remembered identities, loaded once at start-up. */
  loadDevices(): Map<string, DeviceIdentity>;
  /** Remembers an identity (written with the next group commit, not synchronously per call). */
  saveDevice(chargePointId: string, identity: DeviceIdentity): void;
  /** A new transaction id: an integer >= 1, strictly greater than every id handed out before. */
  nextTransactionId(): number;
  close(): Promise<void>;
}
