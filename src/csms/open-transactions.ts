/**
 * What an operator sees of the open transactions (status page, JSON API): a view of each, and a
 * copy of the views per live connection so that the page, read often and for every charge point,
 * never reads the StateStore. The copy is written where the sessions feature writes the store
 * (the one writer of a connected charge point's transactions) and filled from the store when the
 * connection starts tracking, so a reconnect or a restart shows what is open.
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

/** The views of one connection's open transactions. */
export class OpenTransactionViews {
  private readonly views = new Map<string, TransactionView>();
  /** Ids written while the store was being read: the read must not bring back an older state. */
  private touched: Set<string> | undefined;

  /** Starts filling from the store; what is written meanwhile wins. */
  load(book: TransactionBook, chargePointId: string, onError: (err: unknown) => void): void {
    const touched = new Set<string>();
    this.touched = touched;
    book.open(chargePointId).then(
      (open) => {
        for (const tx of open)
          if (!touched.has(tx.transactionId)) this.views.set(tx.transactionId, transactionView(tx));
        if (this.touched === touched) this.touched = undefined;
      },
      (err: unknown) => {
        if (this.touched === touched) this.touched = undefined;
        onError(err);
      },
    );
  }

  put(tx: OpenTransaction): void {
    this.touched?.add(tx.transactionId);
    this.views.set(tx.transactionId, transactionView(tx));
  }

  remove(transactionId: string): void {
    this.touched?.add(transactionId);
    this.views.delete(transactionId);
  }

  list(): TransactionView[] {
    return [...this.views.values()];
  }
}
