/**
 * What an operator wants to know about one live connection: since when, from where, what it said
 * last, its connectors' statuses (from StatusNotification) and, while someone watches it, its
 * recent frames. In memory only: it describes this connection, not a fact to keep across restarts.
 *
 * Ten thousand idle chargers must cost little, so everything beyond a few numbers (the status
 * table, the frame ring) is allocated on first use and the ring is dropped when nobody watches.
 */
import type { PeerAddress } from '../ocpp/server.js';
import type { FrameDirection } from '../ocpp/tap.js';

/** Frames kept per watched charge point. */
export const FRAME_RING_SIZE = 50;
/** Longest frame text kept in the ring or logged (bytes of JSON; the rest is cut with a marker). */
export const MAX_FRAME_TEXT = 4096;
/** Connector/EVSE statuses kept per charge point; further connector ids are ignored. */
const MAX_STATUSES = 64;

export interface CapturedFrame {
  at: number;
  direction: FrameDirection;
  /** Redacted frame text, cut at MAX_FRAME_TEXT. */
  text: string;
}

/** A bounded ring of the latest frames, oldest first when read. */
export class FrameRing {
  private readonly items: (CapturedFrame | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity = FRAME_RING_SIZE) {
    this.items = new Array<CapturedFrame | undefined>(capacity);
  }

  push(frame: CapturedFrame): void {
    this.items[this.next] = frame;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  list(): CapturedFrame[] {
    const out: CapturedFrame[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let k = 0; k < this.count; k++) {
      const item = this.items[(start + k) % this.capacity];
      if (item) out.push(item);
    }
    return out;
  }
}

export interface ConnectorStatus {
  /** OCPP 2.x EVSE id; absent for 1.6. */
  evseId?: number;
  /** 1.6: 0 = the charge point itself. */
  connectorId: number;
  status: string;
  /** 1.6 errorCode (NoError, …). */
  errorCode?: string;
  /** The charge point's own timestamp if it sent one, else when it arrived (ISO 8601). */
  at: string;
}

export class ChargePointActivity {
  readonly connectedAt: number;
  readonly peer: PeerAddress;
  /** 1 plain WebSocket, 2 TLS, 3 TLS with a client certificate (what this connection provides). */
  readonly securityProfile: number | undefined;
  lastInAt = 0;
  lastInAction: string | undefined;
  framesIn = 0;
  framesOut = 0;
  /** Keyed "evse/connector" (2.x) or "connector" (1.6); allocated at the first StatusNotification. */
  private statuses: Map<string, ConnectorStatus> | undefined;
  /** Allocated while someone watches this charge point (or at debug level). */
  frames: FrameRing | undefined;
  /** Until when the ring is kept without a new request for it (ms since the epoch). */
  watchedUntil = 0;

  constructor(peer: PeerAddress, now: number, securityProfile?: number) {
    this.peer = peer;
    this.securityProfile = securityProfile;
    this.connectedAt = now;
  }

  /** Records a StatusNotification (1.6 or 2.x payload, already schema-valid). */
  noteStatus(payload: Record<string, unknown>, receivedAt: Date): void {
    const connectorId = typeof payload.connectorId === 'number' ? payload.connectorId : 0;
    const evseId = typeof payload.evseId === 'number' ? payload.evseId : undefined;
    const status =
      typeof payload.connectorStatus === 'string'
        ? payload.connectorStatus
        : typeof payload.status === 'string'
          ? payload.status
          : 'Unknown';
    const key = evseId === undefined ? String(connectorId) : `${evseId}/${connectorId}`;
    this.statuses ??= new Map();
    if (!this.statuses.has(key) && this.statuses.size >= MAX_STATUSES) return;
    const entry: ConnectorStatus = {
      connectorId,
      status,
      at: typeof payload.timestamp === 'string' ? payload.timestamp : receivedAt.toISOString(),
    };
    if (evseId !== undefined) entry.evseId = evseId;
    if (typeof payload.errorCode === 'string') entry.errorCode = payload.errorCode;
    this.statuses.set(key, entry);
  }

  connectorStatuses(): ConnectorStatus[] {
    if (!this.statuses) return [];
    return [...this.statuses.values()].sort(
      (a, b) => (a.evseId ?? 0) - (b.evseId ?? 0) || a.connectorId - b.connectorId,
    );
  }
}
