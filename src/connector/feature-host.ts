/**
 * How the connector runs its features for one chargePoints entry: which features apply, which
 * actions have hooks (the others keep the connector's synchronous path), and the refusals and
 * vetoes that run before a CALL is answered or sent. Built from the entry, like the mapper, so a
 * new configuration rebuilds it.
 */
import type { ChargePointConfig } from '../config/types.js';
import type { LogSummary } from '../log-summary.js';
import { OcppTimeoutError, type OcppError } from '../ocpp/errors.js';
import type {
  CallContext,
  CallHook,
  ConnectionView,
  ConnectorFeature,
  RpcMethod,
  SendContext,
} from './features.js';

export class EntryFeatures {
  /** Features that apply to this entry, in order. */
  readonly features: readonly ConnectorFeature[];
  private readonly hooks = new Map<string, CallHook[]>();
  private readonly admitters: ConnectorFeature[];
  private readonly senders: ConnectorFeature[];

  constructor(entry: ChargePointConfig, all: readonly ConnectorFeature[]) {
    this.features = all.filter((f) => f.appliesTo?.(entry) ?? true);
    for (const f of this.features) {
      for (const [action, hook] of Object.entries(f.onCall ?? {})) {
        if (!hook) continue;
        let list = this.hooks.get(action);
        if (!list) {
          list = [];
          this.hooks.set(action, list);
        }
        list.push(hook);
      }
    }
    this.admitters = this.features.filter((f) => f.admit !== undefined);
    this.senders = this.features.filter((f) => f.beforeSend !== undefined);
  }

  /** Whether a CALL of this action needs the features (else the connector answers it alone). */
  involves(action: string): boolean {
    return this.admitters.length > 0 || this.hooks.has(action);
  }

  /** The first refusal of a CALL, if any feature refuses it. */
  async admit(connection: ConnectionView, action: string): Promise<OcppError | undefined> {
    for (const f of this.admitters) {
      const refusal = await f.admit?.(connection, action);
      if (refusal) return refusal;
    }
    return undefined;
  }

  async runHooks(ctx: CallContext): Promise<void> {
    for (const hook of this.hooks.get(ctx.action) ?? []) await hook(ctx);
  }

  /** Runs every veto before a CALL is sent; throws the first refusal. */
  async beforeSend(ctx: SendContext): Promise<void> {
    for (const f of this.senders) await f.beforeSend?.(ctx);
  }

  /** Whether any feature may veto a CALL the Central System sends. */
  get vetoes(): boolean {
    return this.senders.length > 0;
  }

  /**
   * The vetoes, but not past `deadline` (epoch ms): then the CALL is not sent and the RPC is
   * answered with the timeout, as a call that waited too long in the session's queue is.
   */
  async vetoWithin(ctx: SendContext, deadline: number, timeoutMs: number): Promise<void> {
    const veto = this.beforeSend(ctx);
    // A veto that settles after the deadline has nobody waiting for it any more.
    veto.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new OcppTimeoutError(ctx.action, timeoutMs, 'the Central System decided whether to send it'),
          ),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      await Promise.race([veto, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  rpcMethod(method: string): RpcMethod | undefined {
    for (const f of this.features) {
      const m = f.rpcMethods && Object.hasOwn(f.rpcMethods, method) ? f.rpcMethods[method] : undefined;
      if (m) return m;
    }
    return undefined;
  }

  connected(connection: ConnectionView, failures: FeatureFailures): void {
    for (const f of this.features) {
      failures.run('onConnected', { feature: f.name, chargePointId: connection.chargePointId }, () =>
        f.onConnected?.(connection),
      );
    }
  }

  get wantsConnections(): boolean {
    return this.features.some((f) => f.onConnected !== undefined);
  }
}

/** Where a feature runs outside the answer to a CALL (whose failure is that CALL's CALLERROR). */
export type FeatureStage =
  'onConnected' | 'afterAnswer' | 'onDeviceAttributes' | 'onGatewayAttributes' | 'onThingsBoardConnected';

/**
 * Failures of features outside a CALL's answer, where input from ThingsBoard or a charge point
 * arrives: counted per stage, logged summarised (at most a line per stage a minute), never thrown
 * — a feature may fail on such input, the gateway and the other features carry on.
 */
export class FeatureFailures {
  readonly counters: Record<FeatureStage, number> = {
    onConnected: 0,
    afterAnswer: 0,
    onDeviceAttributes: 0,
    onGatewayAttributes: 0,
    onThingsBoardConnected: 0,
  };
  private readonly warnings: LogSummary;

  constructor(warnings: LogSummary) {
    this.warnings = warnings;
  }

  run(stage: FeatureStage, fields: Record<string, unknown>, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.failed(stage, fields, err);
    }
  }

  failed(stage: FeatureStage, fields: Record<string, unknown>, err: unknown): void {
    this.counters[stage]++;
    this.warnings.error(
      `feature-failed-${stage}`,
      { ...fields, stage, err },
      `a Central System feature failed in ${stage} (counted; the gateway carries on)`,
    );
  }
}

/**
 * Runs tasks queued by afterAnswer, once the answer is on its way; resolves when the promises they
 * returned settled. A failing task is counted; the promise never rejects.
 */
export function runAfterAnswer(
  tasks: (() => void | Promise<unknown>)[],
  failures: FeatureFailures,
  fields: Record<string, unknown>,
): Promise<void> {
  if (tasks.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    setImmediate(() => {
      const waits: Promise<unknown>[] = [];
      for (const task of tasks) {
        failures.run('afterAnswer', fields, () => {
          const result = task();
          if (result instanceof Promise)
            waits.push(result.catch((err: unknown) => failures.failed('afterAnswer', fields, err)));
        });
      }
      void Promise.all(waits).then(() => resolve());
    });
  });
}
