/**
 * Everything a session sends to its charge point, and the bound on what may wait unread. A charge
 * point that sends but does not read its answers would make them pile up in memory without end, so
 * past the bound reading from it pauses, and a charge point that stays stalled is disconnected.
 */
import { warn, type SessionOptions } from './session-options.js';

/** Bounds on what waits to be written to one charge point (see README, "Security and limits"). */
export interface SendBufferLimits {
  /** Bytes buffered for the socket above which reading from the charge point pauses. */
  maxBytes: number;
  /** How long reading may stay paused before the connection is closed, milliseconds. */
  stallTimeoutMs: number;
}

export const DEFAULT_SEND_BUFFER: SendBufferLimits = { maxBytes: 1_048_576, stallTimeoutMs: 30_000 };
const PAUSE_POLL_MS = 100;
/** Close code for a peer that does not read (RFC 6455 §7.4.1: policy violation). */
const CLOSE_NOT_READING = 1008;

/** The writing side of one ChargePointSession. */
export class SendBuffer {
  private readonly opts: SessionOptions;
  /** Set while reading is paused because the charge point does not read (see write()). */
  private pauseTimer: NodeJS.Timeout | undefined;

  constructor(opts: SessionOptions) {
    this.opts = opts;
  }

  get limits(): SendBufferLimits {
    return this.opts.sendBuffer ?? DEFAULT_SEND_BUFFER;
  }

  /**
   * Everything sent to the charge point goes through here. A charge point that sends but does not
   * read its answers would make them pile up in memory without end: past maxBytes waiting for the
   * socket, reading from it pauses (its CALLs wait in the kernel, unanswered) until what was sent
   * drains below half; if it does not within stallTimeoutMs, the connection is closed.
   */
  write(text: string): void {
    const ws = this.opts.socket;
    if (ws.readyState !== ws.OPEN) return;
    ws.send(text);
    const { maxBytes } = this.limits;
    if (ws.bufferedAmount <= maxBytes) return;
    if (ws.bufferedAmount > 2 * maxBytes) {
      // Only answers already on their way when reading paused can get here: a last-resort bound.
      this.closeSlowReader('its unread data passed twice the send buffer');
      return;
    }
    if (this.pauseTimer === undefined) this.pauseReading();
  }

  /** Stops watching a paused socket (the connection closed). */
  stopPause(): void {
    if (this.pauseTimer !== undefined) clearInterval(this.pauseTimer);
    this.pauseTimer = undefined;
  }

  private pauseReading(): void {
    const ws = this.opts.socket;
    const { maxBytes, stallTimeoutMs } = this.limits;
    this.opts.counters.readPauses++;
    warn(
      this.opts,
      'slow-reader-paused',
      { chargePointId: this.opts.id, bufferedBytes: ws.bufferedAmount, maxSendBufferSize: maxBytes },
      'charge point does not read what it is sent: stopped reading from it until it does',
    );
    ws.pause();
    const since = Date.now();
    this.pauseTimer = setInterval(() => {
      if (ws.readyState !== ws.OPEN) return this.stopPause();
      if (ws.bufferedAmount <= maxBytes / 2) {
        this.stopPause();
        ws.resume();
        return;
      }
      if (Date.now() - since >= stallTimeoutMs) {
        this.closeSlowReader(`it read nothing for ${stallTimeoutMs / 1000} s`);
      }
    }, PAUSE_POLL_MS);
    this.pauseTimer.unref();
  }

  private closeSlowReader(why: string): void {
    this.stopPause();
    const ws = this.opts.socket;
    this.opts.counters.slowReadersClosed++;
    warn(
      this.opts,
      'slow-reader-closed',
      { chargePointId: this.opts.id, bufferedBytes: ws.bufferedAmount, reason: why },
      'closed the connection of a charge point that does not read what it is sent',
    );
    ws.close(CLOSE_NOT_READING, 'not reading what it is sent');
    // The close frame waits behind the unread data, so the socket is dropped soon after.
    setTimeout(() => ws.terminate(), 1000).unref();
  }
}
