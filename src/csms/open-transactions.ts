/**
 * A live connection's open transactions, kept with the connection: read from the StateStore once,
 * when the connection starts tracking transactions (so a reconnect or a restart continues what the
 * store kept), then written through — the store first, this copy once the store took the write.
 *
 * Why a copy: MeterValues and TransactionEvent Updated are the hot path of a charging station.
 * With SQLite a store read is a synchronous query, and finding the transaction of an EVSE (1.6
 * MeterValues and StatusNotification carry only a connector id) would scan every record of the
 * charge point per message. A charge point is connected to one gateway at a time and the sessions
 * feature of that connection is the one writer of its transactions, so the copy stays true; a new
 * connection (here or on another gateway sharing the store) reads the store again.
 *
 * The status page reads the views of the same copy, so it never reads the store either.
 */
import type { TransactionView } from '../connector/views.js';
import { energySoFar, type OpenTransaction, type TransactionBook } from './transactions.js';

/** An open transaction as the status page shows it (the idToken is masked or hashed in the store). */
export function transactionView(tx: OpenTransaction): TransactionView {
  const view: TransactionView = { id: tx.transactionId, startedAt: tx.start };
  if (tx.evseId !== undefined) view.evseId = tx.evseId;
  if (tx.connectorId !== undefined) view.connectorId = tx.connectorId;
  if (tx.idToken !== undefined) view.idToken = tx.idToken;
  const energy = energySoFar(tx);
  if (energy !== undefined) view.energyWh = energy;
  if (tx.powerW !== undefined) view.powerW = tx.powerW;
  if (tx.partial) view.partial = true;
  return view;
}

/**
 * OpenTransaction is flat (strings, numbers, booleans): a spread is a full copy. Callers amend the
 * copies they get and write them back with put, so a CALL that fails half-way (its store write
 * rejected) leaves what is kept untouched.
 */
const copy = (tx: OpenTransaction): OpenTransaction => ({ ...tx });

export class ConnectionTransactions {
  private readonly book: TransactionBook;
  private readonly chargePointId: string;
  private readonly open = new Map<string, OpenTransaction>();
  private loading: Promise<void> | undefined;
  private loaded = false;

  constructor(book: TransactionBook, chargePointId: string) {
    this.book = book;
    this.chargePointId = chargePointId;
  }

  /**
   * Reads the store once (a failed read is tried again at the next call). Every reader awaits it,
   * and every write comes after a read, so nothing written here is overwritten by the load.
   */
  ready(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.loading ??= this.book.open(this.chargePointId).then(
      (open) => {
        for (const tx of open) this.open.set(tx.transactionId, tx);
        this.loaded = true;
      },
      (err: unknown) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  get(transactionId: string): OpenTransaction | undefined {
    const tx = this.open.get(transactionId);
    return tx && copy(tx);
  }

  /** The open transaction on an EVSE (1.6 connector), if any. */
  onEvse(evseId: number): OpenTransaction | undefined {
    for (const tx of this.open.values()) if (tx.evseId === evseId) return copy(tx);
    return undefined;
  }

  /**
   * Open transactions beyond the `keep` most recent, oldest first, leaving out `tx` and what is on
   * its EVSE (an abandoned one there is being ended already: it must not be ended twice).
   */
  beyond(keep: number, tx: OpenTransaction): OpenTransaction[] {
    const others = [...this.open.values()].filter(
      (t) => t.transactionId !== tx.transactionId && (tx.evseId === undefined || t.evseId !== tx.evseId),
    );
    if (others.length <= keep) return [];
    others.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    return others.slice(0, others.length - keep).map(copy);
  }

  /** Stores the transaction; kept here once the store has it (the promise rejects when it could not). */
  async put(tx: OpenTransaction): Promise<void> {
    const kept = copy(tx);
    await this.book.put(kept);
    this.open.set(kept.transactionId, kept);
  }

  /** Forgets the transaction here at once (it ended), and in the store. */
  remove(tx: OpenTransaction): Promise<void> {
    this.open.delete(tx.transactionId);
    return this.book.remove(tx);
  }

  list(): TransactionView[] {
    return [...this.open.values()].map(transactionView);
  }
}
