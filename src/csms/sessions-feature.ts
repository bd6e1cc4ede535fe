/**
 * Charging sessions in the connector: transactions tracked per charge point and EVSE (OCPP 1.6
 * StartTransaction/MeterValues/StopTransaction/StatusNotification §4.7–§4.10; 2.0.1/2.1
 * TransactionEvent Started/Updated/Ended, the E block), cost from the tariff (I block: `totalCost`
 * in the TransactionEventResponse of an Ended event, I03; CostUpdated while charging, I02),
 * and — with `"sessions": true` on the chargePoints entry — a `session` record as telemetry when a
 * transaction ends plus `evse_<n>_…` attributes of each EVSE's state. The tariff and
 * CostUpdated are session-cost.ts's.
 *
 * Tracking runs for entries with `sessions` or a `tariff`; without both it costs nothing.
 */
import type { TariffConfig } from '../config/csms-types.js';
import { isRecord } from '../config/keys.js';
import type { ChargePointConfig } from '../config/types.js';
import type {
  CallContext,
  ConnectionView,
  ConnectorFeature,
  CsmsThingsBoardLink,
} from '../connector/features.js';
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { RecordStore } from '../outbox/types.js';
import type { TransactionView } from '../connector/views.js';
import type { IdTokenPresenter } from './id-tokens.js';
import { ConnectionTransactions, transactionView } from './open-transactions.js';
import { readMeter } from './meter.js';
import { SessionCost } from './session-cost.js';
import { costOf } from './tariff.js';
import {
  applyCharging,
  applyReading,
  billableSeconds,
  energySoFar,
  sessionRecord,
  TransactionBook,
  type OpenTransaction,
} from './transactions.js';

/** Per-connection fact: the connection's open transactions (open-transactions.ts). */
const TRANSACTIONS_FACT = 'openTransactions';
/**
 * Open transactions kept per charge point: more than any station has EVSEs, so only a broken or
 * hostile one (starts on ever new connector or transaction ids) reaches it; the store stays bounded.
 */
export const MAX_OPEN_TRANSACTIONS = 64;

/**
 * A meter register in Wh. The 1.6 schema's `integer` admits 1e309 (JSON.parse makes it Infinity),
 * which would become `null` in the state store and in the session record: not a reading.
 */
function whOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function intOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

function isoOf(v: unknown, fallback: Date): string {
  return typeof v === 'string' && Number.isFinite(Date.parse(v)) ? v : fallback.toISOString();
}

function tracks(entry: ChargePointConfig): boolean {
  return entry.sessions || entry.tariff !== undefined;
}

export class SessionsFeature implements ConnectorFeature {
  readonly name = 'sessions';
  readonly counters = { started: 0, ended: 0, partial: 0, costUpdates: 0, evicted: 0 };
  readonly onCall: Readonly<Record<string, (ctx: CallContext) => Promise<void>>>;
  private readonly book: TransactionBook;
  private readonly presenter: IdTokenPresenter;
  private readonly cost: SessionCost;
  private readonly logger: Logger;
  private readonly warnings: LogSummary;
  private readonly now: () => Date;

  constructor(deps: {
    state: RecordStore;
    presenter: IdTokenPresenter;
    thingsboard: CsmsThingsBoardLink | undefined;
    logger: Logger;
    warnings?: LogSummary;
    now: () => Date;
  }) {
    this.book = new TransactionBook(deps.state);
    this.presenter = deps.presenter;
    this.logger = deps.logger.child({ feature: 'sessions' });
    this.warnings = deps.warnings ?? new LogSummary({ logger: this.logger });
    this.now = deps.now;
    this.cost = new SessionCost({
      thingsboard: deps.thingsboard,
      counters: this.counters,
      logger: this.logger,
      warnings: this.warnings,
      now: deps.now,
    });
    const when =
      (fn: (ctx: CallContext) => Promise<void>) =>
      (ctx: CallContext): Promise<void> =>
        tracks(ctx.connection.entry) ? fn(ctx) : Promise.resolve();
    this.onCall = {
      StartTransaction: when((ctx) => this.startTransaction(ctx)),
      StopTransaction: when((ctx) => this.stopTransaction(ctx)),
      MeterValues: when((ctx) => this.meterValues(ctx)),
      StatusNotification: when((ctx) => this.statusNotification(ctx)),
      TransactionEvent: when((ctx) => this.transactionEvent(ctx)),
    };
  }

  appliesTo(entry: ChargePointConfig): boolean {
    return tracks(entry);
  }

  /** Open transactions of a charge point, from the StateStore (live or not). */
  async openTransactions(chargePointId: string): Promise<TransactionView[]> {
    return (await this.book.open(chargePointId)).map(transactionView);
  }

  /** Open transactions of a live connection, as the status page shows them (no store read). */
  transactionsOf(connection: ConnectionView): TransactionView[] {
    const kept = connection.facts.get(TRANSACTIONS_FACT);
    return kept instanceof ConnectionTransactions ? kept.list() : [];
  }

  /** A tracked connection's open transactions are read from the store as it connects. */
  onConnected(connection: ConnectionView): void {
    if (!tracks(connection.entry)) return;
    this.transactions(connection).catch((err: unknown) =>
      this.warnings.warn(
        'open-transactions-not-read',
        { chargePointId: connection.chargePointId, err: String(err) },
        'could not read the open transactions of a charge point (tried again at its next message)',
      ),
    );
  }

  /** `ocppTariff` changed in ThingsBoard: used from the next cost computed on this connection. */
  onDeviceAttributes(
    _chargePointId: string,
    device: string,
    data: ReadonlyMap<string, unknown>,
    connection: ConnectionView | undefined,
  ): void {
    if (connection && tracks(connection.entry)) this.cost.onTariffAttribute(device, data, connection);
  }

  // ---- OCPP 1.6 ----

  private async startTransaction(ctx: CallContext): Promise<void> {
    const p = ctx.payload;
    const transactionId = ctx.response.transactionId;
    if (typeof transactionId !== 'number') return;
    const tx = this.begin(ctx.connection, String(transactionId), isoOf(p.timestamp, ctx.receivedAt), false);
    tx.evseId = intOf(p.connectorId) ?? 0;
    if (typeof p.idTag === 'string') tx.idToken = this.presenter.present(p.idTag);
    const meterStart = whOf(p.meterStart);
    if (meterStart !== undefined) tx.meterStartWh = tx.lastMeterWh = meterStart;
    const open = await this.transactions(ctx.connection);
    this.endAbandoned(ctx, open, tx);
    this.endOverflow(ctx, open, tx);
    await open.put(tx);
    this.publishState(ctx, tx);
  }

  private async stopTransaction(ctx: CallContext): Promise<void> {
    const p = ctx.payload;
    const stop = isoOf(p.timestamp, ctx.receivedAt);
    const id = String(p.transactionId);
    const open = await this.transactions(ctx.connection);
    const tx = open.get(id) ?? this.begin(ctx.connection, id, stop, true);
    applyReading(tx, readMeter(p.transactionData));
    const meterStop = whOf(p.meterStop);
    if (meterStop !== undefined) tx.lastMeterWh = meterStop;
    this.end(ctx, open, tx, stop, typeof p.reason === 'string' ? p.reason : 'Local');
  }

  private async statusNotification(ctx: CallContext): Promise<void> {
    const p = ctx.payload;
    const v16 = ctx.connection.version === 'ocpp1.6';
    const evseId = intOf(v16 ? p.connectorId : p.evseId);
    const status = v16 ? p.status : p.connectorStatus;
    if (evseId === undefined || typeof status !== 'string') return;
    if (ctx.connection.entry.sessions) ctx.publish('attributes', { [`evse_${evseId}_status`]: status });
    if (!v16) return; // 2.x reports charging in TransactionEvent chargingState
    const open = await this.transactions(ctx.connection);
    const tx = open.onEvse(evseId);
    if (!tx) return;
    applyCharging(tx, status === 'Charging', isoOf(p.timestamp, ctx.receivedAt));
    await open.put(tx);
  }

  // ---- both: MeterValues ----

  private async meterValues(ctx: CallContext): Promise<void> {
    const p = ctx.payload;
    const open = await this.transactions(ctx.connection);
    // 1.6 MeterValues name the transaction when there is one; 2.x ones only the EVSE.
    const tx =
      typeof p.transactionId === 'number'
        ? open.get(String(p.transactionId))
        : open.onEvse(intOf(p.connectorId ?? p.evseId) ?? -1);
    if (!tx) return;
    applyReading(tx, readMeter(p.meterValue));
    this.cost.costUpdate(ctx, tx);
    await open.put(tx);
    this.publishState(ctx, tx);
  }

  // ---- OCPP 2.0.1 / 2.1 ----

  private async transactionEvent(ctx: CallContext): Promise<void> {
    const p = ctx.payload;
    const info = isRecord(p.transactionInfo) ? p.transactionInfo : {};
    if (typeof info.transactionId !== 'string') return;
    const at = isoOf(p.timestamp, ctx.receivedAt);
    const open = await this.transactions(ctx.connection);
    let tx = open.get(info.transactionId);
    const fresh = tx === undefined;
    if (!tx) {
      tx = this.begin(ctx.connection, info.transactionId, at, p.eventType !== 'Started');
    }
    const evse = isRecord(p.evse) ? p.evse : undefined;
    if (evse && tx.evseId === undefined) {
      const evseId = intOf(evse.id);
      if (evseId !== undefined) tx.evseId = evseId;
      const connectorId = intOf(evse.connectorId);
      if (connectorId !== undefined) tx.connectorId = connectorId;
      if (p.eventType === 'Started') this.endAbandoned(ctx, open, tx);
    }
    // E02: the idToken may come after the start (cable first, card later).
    if (isRecord(p.idToken) && typeof p.idToken.idToken === 'string')
      tx.idToken = this.presenter.present(p.idToken.idToken);
    applyReading(tx, readMeter(p.meterValue));
    if (typeof info.chargingState === 'string') applyCharging(tx, info.chargingState === 'Charging', at);
    if (p.eventType === 'Ended') {
      const cost = this.end(
        ctx,
        open,
        tx,
        at,
        typeof info.stoppedReason === 'string' ? info.stoppedReason : 'Local',
      );
      // I03: the CSMS gives the final cost in the response to the Ended event.
      if (cost !== undefined) ctx.response.totalCost = cost;
      return;
    }
    if (fresh) this.endOverflow(ctx, open, tx);
    this.cost.costUpdate(ctx, tx);
    await open.put(tx);
    this.publishState(ctx, tx);
  }

  // ---- common ----

  private begin(
    connection: ConnectionView,
    transactionId: string,
    start: string,
    partial: boolean,
  ): OpenTransaction {
    this.counters.started++;
    if (partial) this.counters.partial++;
    this.cost.askTariff(connection);
    const tx: OpenTransaction = {
      chargePointId: connection.chargePointId,
      transactionId,
      start,
      chargingSeconds: 0,
      chargingKnown: false,
    };
    if (partial) tx.partial = true;
    return tx;
  }

  /**
   * A new transaction on an EVSE that still has an open one: the station delivers transaction
   * messages in order, offline queues included, so the old one's end will never come. It is closed
   * with stopReason "Unknown" so the EVSE's state and the store stay true.
   */
  private endAbandoned(ctx: CallContext, open: ConnectionTransactions, tx: OpenTransaction): void {
    if (tx.evseId === undefined) return;
    const old = open.onEvse(tx.evseId);
    if (old && old.transactionId !== tx.transactionId) this.end(ctx, open, old, tx.start, 'Unknown', false);
  }

  /** Past MAX_OPEN_TRANSACTIONS, the oldest open transactions are closed as abandoned ("Unknown"). */
  private endOverflow(ctx: CallContext, open: ConnectionTransactions, tx: OpenTransaction): void {
    const evicted = open.beyond(MAX_OPEN_TRANSACTIONS - 1, tx);
    if (evicted.length === 0) return;
    this.counters.evicted += evicted.length;
    this.warnings.warn(
      'too-many-open-transactions',
      { chargePointId: tx.chargePointId, max: MAX_OPEN_TRANSACTIONS },
      `more than ${MAX_OPEN_TRANSACTIONS} open transactions on one charge point: the oldest is closed as Unknown`,
    );
    for (const old of evicted) this.end(ctx, open, old, tx.start, 'Unknown', false);
  }

  /** Publishes the session record, clears the EVSE's state; the record leaves the store once answered. */
  private end(
    ctx: CallContext,
    open: ConnectionTransactions,
    tx: OpenTransaction,
    stop: string,
    reason: string,
    clearState = true,
  ): number | undefined {
    if (tx.chargingSince !== undefined) applyCharging(tx, false, stop);
    const tariff = this.cost.tariffOf(ctx.connection);
    const amount = tariff
      ? costOf(tariff, { energyWh: energySoFar(tx), chargingSeconds: billableSeconds(tx, stop) })
      : undefined;
    const record = sessionRecord(
      tx,
      stop,
      reason,
      tariff && amount !== undefined ? { amount, currency: tariff.currency } : undefined,
    );
    this.counters.ended++;
    if (ctx.connection.entry.sessions) {
      const values: Record<string, unknown> = { session: record };
      if (record.energyWh !== undefined) values.sessionEnergyWh = record.energyWh;
      if (record.durationSeconds !== undefined) values.sessionDurationSeconds = record.durationSeconds;
      if (record.cost !== undefined) values.sessionCost = record.cost;
      const ts = Date.parse(stop);
      ctx.publish('telemetry', values, Number.isFinite(ts) ? ts : ctx.receivedAt.getTime());
      if (clearState && tx.evseId !== undefined)
        ctx.publish('attributes', this.stateOf(tx.evseId, undefined, tariff));
    }
    // Removed only once the record is in the outbox and the station answered: a crash before
    // that leaves the transaction open rather than losing its session. Returned, so the next CALL
    // of this connection no longer finds it open (it would be ended, and published, twice).
    ctx.afterAnswer(() =>
      open
        .remove(tx)
        .catch((err: unknown) =>
          this.warnings.warn(
            'transaction-not-removed',
            { chargePointId: tx.chargePointId, err: String(err) },
            'could not remove an ended transaction',
          ),
        ),
    );
    return amount;
  }

  /**
   * The connection's open transactions, read from the store when it first needs them (idle charge
   * points cost nothing); after that no message reads the store.
   */
  private transactions(connection: ConnectionView): Promise<ConnectionTransactions> {
    let kept = connection.facts.get(TRANSACTIONS_FACT);
    if (!(kept instanceof ConnectionTransactions)) {
      kept = new ConnectionTransactions(this.book, connection.chargePointId);
      connection.facts.set(TRANSACTIONS_FACT, kept);
    }
    const transactions = kept as ConnectionTransactions;
    return transactions.ready().then(() => transactions);
  }

  private publishState(ctx: CallContext, tx: OpenTransaction): void {
    if (!ctx.connection.entry.sessions || tx.evseId === undefined) return;
    ctx.publish('attributes', this.stateOf(tx.evseId, tx, this.cost.tariffOf(ctx.connection)));
  }

  /** `evse_<n>_…` attributes: the open transaction, or empty values when there is none. */
  private stateOf(
    evseId: number,
    tx: OpenTransaction | undefined,
    tariff: TariffConfig | undefined,
  ): Record<string, unknown> {
    const k = `evse_${evseId}_`;
    const energy = tx ? (energySoFar(tx) ?? 0) : 0;
    const state: Record<string, unknown> = {
      [`${k}transactionId`]: tx?.transactionId ?? '',
      [`${k}idToken`]: tx?.idToken ?? '',
      [`${k}transactionStart`]: tx?.start ?? '',
      [`${k}energyWh`]: energy,
      [`${k}powerW`]: tx?.powerW ?? 0,
    };
    if (tariff) {
      const at = this.now().toISOString();
      state[`${k}cost`] = tx
        ? costOf(tariff, { energyWh: energy, chargingSeconds: billableSeconds(tx, at) })
        : 0;
    }
    return state;
  }
}
