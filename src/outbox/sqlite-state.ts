import type Database from 'better-sqlite3';
import { StorageError } from '../errors.js';
import type { Logger } from '../log.js';
import { messageOf, type GroupCommitParticipant, type SqliteDatabase } from './sqlite-db.js';
import { parseRecord, serialiseRecord } from './records.js';
import type { DeviceIdentity, StateStore } from './types.js';

export interface SqliteStateStoreOptions {
  /** Shared with the SqliteOutbox; opened by whichever opens first. */
  database: SqliteDatabase;
  logger: Logger;
  /** Transaction ids reserved per durable write. Default 1000. */
  transactionIdBlock?: number;
}

const RESERVED_KEY = 'last_reserved_transaction_id';

interface Statements {
  loadDevices: Database.Statement<[], { chargePointId: string; name: string; type: string }>;
  saveDevice: Database.Statement<[string, string, string]>;
  getMeta: Database.Statement<[string], unknown>;
  setMeta: Database.Statement<[string, number]>;
  getRecord: Database.Statement<[string, string], string>;
  listRecords: Database.Statement<[string, string, string, string, string], { key: string; value: string }>;
  listRecordsFrom: Database.Statement<[string, string, string, string], { key: string; value: string }>;
  putRecord: Database.Statement<[string, string, string]>;
  deleteRecord: Database.Statement<[string, string]>;
}

/** A queued record write: JSON text, or null for a deletion. */
interface RecordWrite {
  namespace: string;
  key: string;
  text: string | null;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection nobody awaits (a fire-and-forget cache write) must not become an unhandled one;
  // callers that await still see it.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * The smallest text above every text that starts with `prefix` (SQLite compares TEXT as UTF-8
 * bytes, which is code point order): the prefix with its last code point incremented. Undefined
 * for an empty prefix, or one ending in U+10FFFF, where no such bound is needed or cheap.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const last = prefix.codePointAt(prefix.length - 1 - (/[\udc00-\udfff]$/.test(prefix) ? 1 : 0));
  if (prefix === '' || last === undefined || last >= 0x10ffff) return undefined;
  const head = prefix.slice(0, prefix.length - (last > 0xffff ? 2 : 1));
  // Skip the surrogate block: U+D800–U+DFFF are not characters SQLite stores.
  return head + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
}

const recordSlot = (namespace: string, key: string): string => `${namespace}\u0000${key}`;

/**
 * Devices and the transaction id counter in the outbox's database file. Device saves ride the
 * group commit. Transaction ids come from blocks reserved with a durable write of the block's upper
 * bound before the first id of the block is handed out: after a crash — even a power loss — the
 * next run starts above the last reservation, so it is above every id ever handed out, and only
 * one write in `transactionIdBlock` ids is paid for (the unused rest of a block is skipped).
 */
export class SqliteStateStore implements StateStore, GroupCommitParticipant {
  private readonly db: SqliteDatabase;
  private readonly logger: Logger;
  private readonly block: number;
  private state: 'new' | 'open' | 'closed' = 'new';
  private st: Statements | undefined;
  private pending = new Map<string, DeviceIdentity>();
  private inFlight = new Map<string, DeviceIdentity>();
  /** Record writes waiting for the next commit, and the promise they share. */
  private pendingRecords = new Map<string, RecordWrite>();
  private pendingRecordsDone: Deferred | undefined;
  private inFlightRecords = new Map<string, RecordWrite>();
  private inFlightRecordsDone: Deferred | undefined;
  private lastIssued = 0;
  private reservedUpTo = 0;

  constructor(opts: SqliteStateStoreOptions) {
    this.db = opts.database;
    this.logger = opts.logger;
    this.block = opts.transactionIdBlock ?? 1000;
  }

  async open(): Promise<void> {
    if (this.state === 'open') return;
    if (this.state === 'closed') throw new StorageError('the state store is closed');
    const handle = this.db.acquire(this);
    try {
      this.st = {
        loadDevices: handle.prepare(
          'SELECT charge_point_id AS chargePointId, name, type FROM devices ORDER BY charge_point_id',
        ),
        saveDevice: handle.prepare(
          'INSERT INTO devices (charge_point_id, name, type) VALUES (?, ?, ?) ' +
            'ON CONFLICT (charge_point_id) DO UPDATE SET name = excluded.name, type = excluded.type',
        ),
        getMeta: handle.prepare<[string], unknown>('SELECT value FROM meta WHERE key = ?').pluck(),
        setMeta: handle.prepare(
          'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        ),
        getRecord: handle
          .prepare<[string, string], string>('SELECT value FROM state WHERE namespace = ? AND key = ?')
          .pluck(),
        // The range lets the (namespace, key) index find the prefix's rows instead of scanning the
        // namespace (a reconnect storm reads one prefix per station); substr keeps it exact.
        listRecords: handle.prepare(
          'SELECT key, value FROM state WHERE namespace = ? AND key >= ? AND key < ? ' +
            'AND substr(key, 1, length(?)) = ? ORDER BY key',
        ),
        listRecordsFrom: handle.prepare(
          'SELECT key, value FROM state WHERE namespace = ? AND key >= ? ' +
            'AND substr(key, 1, length(?)) = ? ORDER BY key',
        ),
        putRecord: handle.prepare(
          'INSERT INTO state (namespace, key, value) VALUES (?, ?, ?) ' +
            'ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value',
        ),
        deleteRecord: handle.prepare('DELETE FROM state WHERE namespace = ? AND key = ?'),
      };
      this.reservedUpTo = this.lastIssued = this.readReserved(this.st);
    } catch (err) {
      this.db.release(this);
      this.st = undefined;
      if (err instanceof StorageError) throw err;
      throw new StorageError(`cannot read the state from ${this.db.dataFilePath}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    this.state = 'open';
  }

  loadDevices(): Map<string, DeviceIdentity> {
    const devices = new Map<string, DeviceIdentity>();
    for (const row of this.statements().loadDevices.all()) {
      devices.set(row.chargePointId, { name: row.name, type: row.type });
    }
    for (const [id, identity] of this.inFlight) devices.set(id, identity);
    for (const [id, identity] of this.pending) devices.set(id, identity);
    return devices;
  }

  saveDevice(chargePointId: string, identity: DeviceIdentity): void {
    this.statements();
    this.pending.set(chargePointId, { name: identity.name, type: identity.type });
    this.db.noteWrites(1);
  }

  nextTransactionId(): number {
    const st = this.statements();
    if (this.lastIssued >= this.reservedUpTo) {
      const upTo = this.lastIssued + this.block;
      try {
        this.db.writeDurably(() => st.setMeta.run(RESERVED_KEY, upTo));
      } catch (err) {
        throw new StorageError(
          `cannot reserve transaction ids in ${this.db.dataFilePath}: ${messageOf(err)}`,
          { cause: err },
        );
      }
      this.reservedUpTo = upTo;
    }
    return ++this.lastIssued;
  }

  getRecord(namespace: string, key: string): Promise<unknown> {
    try {
      const slot = recordSlot(namespace, key);
      const queued = this.pendingRecords.get(slot) ?? this.inFlightRecords.get(slot);
      const text = queued ? queued.text : this.statements().getRecord.get(namespace, key);
      return Promise.resolve(parseRecord(text ?? undefined));
    } catch (err) {
      return Promise.reject(this.readError(err));
    }
  }

  listRecords(namespace: string, keyPrefix = ''): Promise<Map<string, unknown>> {
    try {
      const texts = new Map<string, string | null>();
      const st = this.statements();
      const upper = prefixUpperBound(keyPrefix);
      const rows =
        upper === undefined
          ? st.listRecordsFrom.iterate(namespace, keyPrefix, keyPrefix, keyPrefix)
          : st.listRecords.iterate(namespace, keyPrefix, upper, keyPrefix, keyPrefix);
      for (const row of rows) texts.set(row.key, row.value);
      for (const queued of [this.inFlightRecords, this.pendingRecords]) {
        for (const w of queued.values()) {
          if (w.namespace === namespace && w.key.startsWith(keyPrefix)) texts.set(w.key, w.text);
        }
      }
      const out = new Map<string, unknown>();
      for (const key of [...texts.keys()].sort()) {
        const text = texts.get(key);
        if (text !== null && text !== undefined) out.set(key, parseRecord(text));
      }
      return Promise.resolve(out);
    } catch (err) {
      return Promise.reject(this.readError(err));
    }
  }

  putRecord(namespace: string, key: string, value: unknown): Promise<void> {
    try {
      return this.queueRecord({ namespace, key, text: serialiseRecord(value) });
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  deleteRecord(namespace: string, key: string): Promise<void> {
    try {
      return this.queueRecord({ namespace, key, text: null });
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private queueRecord(write: RecordWrite): Promise<void> {
    this.statements();
    this.pendingRecords.set(recordSlot(write.namespace, write.key), write);
    // One promise per commit, shared by every record write in it.
    const done = (this.pendingRecordsDone ??= deferred());
    this.db.noteWrites(1);
    return done.promise;
  }

  private readError(err: unknown): Error {
    if (err instanceof StorageError) return err;
    return new StorageError(`cannot read the state from ${this.db.dataFilePath}: ${messageOf(err)}`, {
      cause: err,
    });
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    this.state = 'closed';
    this.db.release(this);
    this.st = undefined;
  }

  takePending(): boolean {
    if (this.pending.size === 0 && this.pendingRecords.size === 0) return false;
    this.inFlight = this.pending;
    this.pending = new Map();
    this.inFlightRecords = this.pendingRecords;
    this.inFlightRecordsDone = this.pendingRecordsDone;
    this.pendingRecords = new Map();
    this.pendingRecordsDone = undefined;
    return true;
  }

  write(): void {
    const st = this.statements();
    for (const [id, identity] of this.inFlight) st.saveDevice.run(id, identity.name, identity.type);
    for (const w of this.inFlightRecords.values()) {
      if (w.text === null) st.deleteRecord.run(w.namespace, w.key);
      else st.putRecord.run(w.namespace, w.key, w.text);
    }
  }

  committed(): void {
    this.inFlight = new Map();
    this.inFlightRecords = new Map();
    const done = this.inFlightRecordsDone;
    this.inFlightRecordsDone = undefined;
    done?.resolve();
  }

  rolledBack(error: StorageError): void {
    // Saves are idempotent upserts: put them back (unless saved again since) for the next commit.
    const devices = this.inFlight.size;
    for (const [id, identity] of this.inFlight) if (!this.pending.has(id)) this.pending.set(id, identity);
    this.inFlight = new Map();
    if (devices > 0) {
      this.logger.warn(
        { err: error, devices: this.pending.size },
        'device registry not saved; retrying with the next commit',
      );
    }
    // Record writers are told, and decide themselves (an answer to a charge point may depend on it).
    this.inFlightRecords = new Map();
    const done = this.inFlightRecordsDone;
    this.inFlightRecordsDone = undefined;
    done?.reject(error);
  }

  private readReserved(st: Statements): number {
    const value = st.getMeta.get(RESERVED_KEY);
    if (value === undefined || value === null) return 0;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new StorageError(
        `${this.db.dataFilePath}: meta.${RESERVED_KEY} is not a transaction id: ${String(value)}`,
      );
    }
    return n;
  }

  private statements(): Statements {
    if (this.st === undefined) {
      throw new StorageError(`the state store is ${this.state === 'new' ? 'not open' : 'closed'}`);
    }
    return this.st;
  }
}
