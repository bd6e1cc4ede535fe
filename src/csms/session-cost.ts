/**
 * The cost side of charging sessions (OCPP 2.0.1/2.1 I block): the tariff in force on a
 * connection — the device's shared attribute `ocppTariff` (read once per connection when its
 * first transaction is seen, then pushed live), else the chargePoints entry's `tariff` — and
 * CostUpdated to a charging 2.x station at most every `costUpdatedInterval` (I02).
 */
import type { TariffConfig } from '../config/csms-types.js';
import type { CallContext, ConnectionView, CsmsThingsBoardLink } from '../connector/features.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import { costOf, parseTariffAttribute } from './tariff.js';
import { billableSeconds, energySoFar, type OpenTransaction } from './transactions.js';

export const TARIFF_ATTRIBUTE = 'ocppTariff';
/** Per-connection fact: the tariff from `ocppTariff` (null = asked, none valid). */
const TARIFF_FACT = 'tariff';
const TARIFF_TIMEOUT_MS = 5000;
const COST_UPDATED_TIMEOUT_MS = 30_000;

export interface SessionCostDeps {
  thingsboard: CsmsThingsBoardLink | undefined;
  /** The sessions feature's counters (CostUpdated sent). */
  counters: { costUpdates: number };
  logger: Logger;
  warnings: LogSummary;
  now: () => Date;
}

export class SessionCost {
  private readonly deps: SessionCostDeps;

  constructor(deps: SessionCostDeps) {
    this.deps = deps;
  }

  /** `ocppTariff` set or deleted in ThingsBoard: used from the next cost computed on this connection. */
  onTariffAttribute(device: string, data: ReadonlyMap<string, unknown>, connection: ConnectionView): void {
    const deleted = data.get('deleted');
    if (Array.isArray(deleted) && deleted.includes(TARIFF_ATTRIBUTE)) connection.facts.set(TARIFF_FACT, null);
    if (data.has(TARIFF_ATTRIBUTE))
      connection.facts.set(TARIFF_FACT, this.tariffFrom(device, data.get(TARIFF_ATTRIBUTE)));
  }

  /** I02: CostUpdated to a 2.x station while it charges, at most every costUpdatedInterval. */
  costUpdate(ctx: CallContext, tx: OpenTransaction): void {
    const { connection } = ctx;
    if (connection.version === 'ocpp1.6') return;
    const tariff = this.tariffOf(connection);
    if (!tariff || tariff.costUpdatedInterval <= 0) return;
    if (tx.chargingKnown && tx.chargingSince === undefined) return; // not charging now
    const now = this.deps.now().getTime();
    const last = tx.costUpdatedAt ?? Date.parse(tx.start);
    if (Number.isFinite(last) && now - last < tariff.costUpdatedInterval * 1000) return;
    tx.costUpdatedAt = now;
    const totalCost = costOf(tariff, {
      energyWh: energySoFar(tx),
      chargingSeconds: billableSeconds(tx, new Date(now).toISOString()),
    });
    this.deps.counters.costUpdates++;
    ctx.afterAnswer(() => {
      connection
        .call('CostUpdated', { totalCost, transactionId: tx.transactionId }, COST_UPDATED_TIMEOUT_MS)
        .catch((err: unknown) =>
          this.deps.logger.debug(
            { chargePointId: tx.chargePointId, reason: String(err) },
            'CostUpdated not delivered',
          ),
        );
    });
  }

  /** The tariff in force on this connection: ThingsBoard's `ocppTariff`, else the entry's. */
  tariffOf(connection: ConnectionView): TariffConfig | undefined {
    const fromThingsBoard = connection.facts.get(TARIFF_FACT) as TariffConfig | null | undefined;
    return fromThingsBoard ?? connection.entry.tariff;
  }

  /** Reads `ocppTariff` once per connection, when its first transaction is seen. */
  askTariff(connection: ConnectionView): void {
    if (connection.facts.has(TARIFF_FACT) || !this.deps.thingsboard) return;
    connection.facts.set(TARIFF_FACT, null);
    const device = connection.device();
    this.deps.thingsboard.requestDeviceAttributes(device, [TARIFF_ATTRIBUTE], TARIFF_TIMEOUT_MS).then(
      (values) => {
        // A push that arrived meanwhile is newer than this answer.
        if (values.has(TARIFF_ATTRIBUTE) && connection.facts.get(TARIFF_FACT) === null) {
          connection.facts.set(TARIFF_FACT, this.tariffFrom(device, values.get(TARIFF_ATTRIBUTE)));
        }
      },
      (err: unknown) =>
        this.deps.logger.debug(
          { device, reason: String(err) },
          `${TARIFF_ATTRIBUTE} not read from ThingsBoard`,
        ),
    );
  }

  private tariffFrom(device: string, value: unknown): TariffConfig | null {
    const parsed = parseTariffAttribute(value);
    if (parsed.ok) return parsed.tariff;
    this.deps.warnings.warn(
      'tariff-attribute-invalid',
      { device, problem: parsed.problem },
      `${TARIFF_ATTRIBUTE} is not a valid tariff: the configured one applies`,
    );
    return null;
  }
}
