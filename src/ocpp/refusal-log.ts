/**
 * How refused handshakes are logged. The OCPP security whitepaper asks that failed connection
 * attempts be logged; a handshake flood (anyone can send one, before any authentication) must not
 * flood the log. So per reason the first ten a minute are logged in full — charge point id,
 * address, reason — and the rest are counted into one line a minute that carries samples of their
 * ids and addresses. The server's counters (`rejected…`, /metrics) count every one.
 */
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';

/** Refusals logged in full per reason and minute. */
export const REFUSALS_LOGGED_IN_FULL = 10;

const MESSAGES = {
  tls: 'connection refused: TLS handshake failed',
  'id-too-long': 'charge point refused: its id is longer than maxChargePointIdLength',
  'no-id': 'charge point refused: no charge point id in the URL',
  address: 'charge point refused: its address does not match the chargePoints entry',
  'not-found': 'charge point refused: no chargePoints entry matches its id',
  busy: 'charge point refused: the Central System is busy',
  ambiguous: 'charge point refused: ambiguous credentials',
  auth: 'charge point refused: authentication failed',
  downgrade: 'charge point refused: authentication failed',
  version:
    'charge point refused: no OCPP version in common (handshake completed without subprotocol, then closed)',
  'no-subprotocol': 'charge point offered no subprotocol: serving it as ocpp1.6',
} as const;

/** Kinds whose words depend on the case: the caller gives the message. */
type WordedKind = 'client-certificate' | 'tls-policy';

export type RefusalKind = keyof typeof MESSAGES | WordedKind;

const isWorded = (kind: RefusalKind): kind is WordedKind =>
  kind === 'client-certificate' || kind === 'tls-policy';

export class RefusalLog {
  private readonly summary: LogSummary;

  constructor(logger: Logger) {
    this.summary = new LogSummary({
      logger,
      burst: REFUSALS_LOGGED_IN_FULL,
      sampled: ['chargePointId', 'remoteAddress'],
    });
  }

  /** `message` only for a kind whose words depend on the case (a client certificate's problem, a TLS policy). */
  refused(kind: RefusalKind, fields: Record<string, unknown>, message?: string): void {
    const text = isWorded(kind) ? (message ?? 'charge point refused') : MESSAGES[kind];
    this.summary.warn(kind, fields, text);
  }

  /** Reports what was only counted: a stop must not hide a flood of refusals. */
  close(): void {
    this.summary.close();
  }
}
