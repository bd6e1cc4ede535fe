/**
 * The CALLs a session sends to its charge point: only one is outstanding at a time (OCPP-J 1.6
 * §4.1.1; 2.0.1 part 4 §4.1.1), later ones wait in a bounded queue, and each fails at its deadline
 * whether it was sent or not.
 *
 * Allocated by the session on its first call, and the queue only when a call has to wait: most
 * idle sessions never need either.
 */
import { OcppSessionError, OcppTimeoutError } from './errors.js';
import { CALL } from './frames.js';
import type { SendBuffer } from './send-buffer.js';
import type { CallHandler, SessionOptions } from './session-options.js';
import type { ChargePointSession } from './session.js';

/**
 * A CALL from the Central System, queued or outstanding. Its timer starts when it is asked for, not
 * when it is sent: ThingsBoard's deadline counts from its request, whatever waits before it.
 */
export interface OutgoingCall {
  action: string;
  /** The payload as JSON text (serialised once, when asked for). */
  payloadText: string;
  timeoutMs: number;
  /** Date.now() at which the call has failed, sent or not. */
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  /** Set when sent. */
  id: string | undefined;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
}

export class OutgoingCalls {
  private readonly session: ChargePointSession;
  private readonly opts: SessionOptions;
  private readonly out: SendBuffer;
  private nextMessageId = 1;
  private outstanding: OutgoingCall | undefined;
  private queue: OutgoingCall[] | undefined;
  /** Set when the connection closed: nothing more is sent. */
  private closed = false;

  constructor(session: ChargePointSession, opts: SessionOptions, out: SendBuffer) {
    this.session = session;
    this.opts = opts;
    this.out = out;
  }

  /** The CALL sent and not yet answered, if any. */
  get inflight(): OutgoingCall | undefined {
    return this.outstanding;
  }

  /**
   * A call through the handler's interceptor (which calls `send` at most once): guarded like every
   * handler (a throw is counted and becomes the call's rejection), and held to the call's deadline —
   * if the interceptor has not sent the call by then, the call fails as a timeout and is never sent.
   */
  intercepted(
    intercept: NonNullable<CallHandler['interceptCall']>,
    action: string,
    payload: unknown,
    payloadText: string,
    timeoutMs: number,
    deadline: number,
  ): Promise<unknown> {
    let sent = false;
    let expired = false;
    const tooLate = (): OcppTimeoutError => new OcppTimeoutError(action, timeoutMs, 'it was prepared');
    return new Promise((resolve, reject) => {
      const expire = (): void => {
        if (sent || expired) return;
        expired = true;
        this.opts.counters.callTimeouts++;
        reject(tooLate());
      };
      const send = (): Promise<unknown> => {
        if (!expired && Date.now() >= deadline) expire();
        if (expired) return Promise.reject(tooLate());
        sent = true;
        return this.enqueue(action, payloadText, timeoutMs, deadline);
      };
      const timer = setTimeout(expire, Math.max(0, deadline - Date.now()));
      const settle = (): void => clearTimeout(timer);
      let outcome: Promise<unknown>;
      try {
        outcome = Promise.resolve(intercept(this.session, action, payload, send));
      } catch (err) {
        this.opts.counters.handlerErrors++;
        this.opts.logger.error(
          { chargePointId: this.opts.id, action, err },
          'preparing a call to a charge point failed',
        );
        outcome = Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      outcome.then(
        (value) => {
          settle();
          resolve(value);
        },
        (err: unknown) => {
          settle();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  queueFull(): boolean {
    return this.outstanding !== undefined && (this.queue?.length ?? 0) >= this.opts.maxQueuedCalls;
  }

  enqueue(action: string, payloadText: string, timeoutMs: number, deadline: number): Promise<unknown> {
    if (this.closed)
      return Promise.reject(new OcppSessionError(`charge point ${this.opts.id} is not connected`));
    return new Promise((resolve, reject) => {
      if (this.queueFull()) {
        reject(new OcppSessionError(`too many calls waiting for charge point ${this.opts.id}`));
        return;
      }
      const call: OutgoingCall = {
        action,
        payloadText,
        timeoutMs,
        deadline,
        timer: undefined,
        id: undefined,
        resolve,
        reject,
      };
      call.timer = setTimeout(() => this.onTimeout(call), Math.max(0, deadline - Date.now()));
      if (!this.outstanding) return this.send(call);
      (this.queue ??= []).push(call);
    });
  }

  /**
   * Ends the outstanding CALL (answered, failed or timed out) and sends the next one that is still
   * in time. Returns the CALL it ended, for the caller to resolve or reject.
   */
  settleInflight(): OutgoingCall | undefined {
    const current = this.outstanding;
    if (!current) return undefined;
    clearTimeout(current.timer);
    this.outstanding = undefined;
    let next = this.queue?.shift();
    // Calls whose deadline passed while they waited are failed, never sent (their timers may not
    // have run yet when several expire in the same tick).
    while (next !== undefined && Date.now() >= next.deadline) {
      clearTimeout(next.timer);
      this.opts.counters.callTimeouts++;
      next.reject(new OcppTimeoutError(next.action, next.timeoutMs, 'waiting behind earlier calls'));
      next = this.queue?.shift();
    }
    if (next) this.send(next);
    return current;
  }

  /** The connection closed: every call, outstanding or waiting, fails with `err`. */
  close(err: OcppSessionError): void {
    this.closed = true;
    const queued = this.queue ?? [];
    this.queue = undefined;
    const inflight = this.outstanding;
    if (inflight) {
      clearTimeout(inflight.timer);
      this.outstanding = undefined;
      inflight.reject(err);
    }
    for (const call of queued) {
      clearTimeout(call.timer);
      call.reject(err);
    }
  }

  private send(call: OutgoingCall): void {
    const id = String(this.nextMessageId++);
    call.id = id;
    this.outstanding = call;
    this.opts.counters.callsOut++;
    const text = `[${CALL},"${id}",${JSON.stringify(call.action)},${call.payloadText}]`;
    this.opts.tap?.(this.session, { direction: 'out', messageType: CALL, action: call.action }, text);
    this.out.write(text);
  }

  private onTimeout(call: OutgoingCall): void {
    call.timer = undefined;
    if (this.outstanding === call) {
      this.opts.counters.callTimeouts++;
      this.settleInflight();
      call.reject(new OcppTimeoutError(call.action, call.timeoutMs));
      return;
    }
    // Its deadline passed while it waited behind others: it is never sent.
    const index = this.queue?.indexOf(call) ?? -1;
    if (index < 0) return;
    this.queue!.splice(index, 1);
    this.opts.counters.callTimeouts++;
    call.reject(new OcppTimeoutError(call.action, call.timeoutMs, 'waiting behind earlier calls'));
  }
}
