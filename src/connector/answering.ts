/**
 * Answering the CALLs of live charge point connections, the flow of every message: frame →
 * records (a boot's announcement, the connector statuses, the mapped datapoints, what features
 * publish) → committed to the outbox → CALLRESULT, so a charge point is only told "accepted" for
 * data that is already safe.
 *
 * A CALL no Central System feature takes part in keeps the synchronous path up to the outbox (the
 * hot path). One the features take part in (authorization, registration, sessions, DataTransfer)
 * may be refused, its answer amended, datapoints published with it and work done after it; such
 * CALLs of a connection run one after the other (a decision may take seconds: ThingsBoard is
 * asked), bounded by maxQueuedCalls for a station that does not wait for its answers, the next
 * one waiting for the afterAnswer work of the previous one (e.g. removing an ended transaction).
 *
 * The answer is the connector's table's (answers.ts), or that of a component's action handler
 * (action-handlers.ts: security's SignCertificate, SecurityEventNotification, …), whose telemetry
 * is committed with the message's data and whose follow-up work runs once the answer is sent.
 */
import type { OcppConnectorConfig } from '../config/types.js';
import { OcppError } from '../ocpp/errors.js';
import type { ChargePointSession } from '../ocpp/session.js';
import type { NewRecord, Outbox, StateStore } from '../outbox/types.js';
import type { ActionHandlers } from './action-handlers.js';
import type { ChargePointActivity } from './activity.js';
import type { Announced, DeviceAnnouncer } from './announcer.js';
import { ANSWERS } from './answers.js';
import { DEFAULT_RPC_TIMEOUT_MS } from './downlink.js';
import { runAfterAnswer, type FeatureFailures } from './feature-host.js';
import type { CallContext, ConnectionView } from './features.js';
import type { Route } from './routes.js';
import { mappingScope } from './uplink.js';
import { withNumericSampledValues } from './value-types.js';

/** A live charge point connection. */
export interface Live extends Announced {
  route: Route;
  activity: ChargePointActivity;
  /** Allocated on first use by a feature. */
  view?: ConnectionView;
  /** Feature work of this connection, one CALL after the other. */
  chain?: Promise<unknown>;
  /** CALLs in `chain` not answered yet (bounded by maxQueuedCalls). */
  waiting?: number;
  /** The afterAnswer tasks of the CALL just answered; the next one waits for them. */
  after?: Promise<void>;
}

type Payload = Record<string, unknown>;
type DatapointKind = 'telemetry' | 'attributes';

export interface CallAnsweringDeps {
  /** The configuration in force (remote configuration replaces it). */
  config(): OcppConnectorConfig;
  outbox: Outbox;
  state: StateStore;
  announcer: DeviceAnnouncer;
  failures: FeatureFailures;
  /** The live connection of a charge point id now (a newer one replaces an older one). */
  liveOf(chargePointId: string): Live | undefined;
  /** Components' answers by action, before the table's (a new configuration replaces them). */
  handlers(): ActionHandlers;
  /** Follow-up work of an action handler failed (it runs outside the session's guard). */
  afterAnswerFailed(chargePointId: string, action: string, err: unknown): void;
  now: () => Date;
}

/** The answer to a CALL before the features amend it, and the work that follows it. */
interface Answer {
  response: Payload;
  afterAnswer?: (() => void) | undefined;
}

export class CallAnswering {
  private readonly deps: CallAnsweringDeps;

  constructor(deps: CallAnsweringDeps) {
    this.deps = deps;
  }

  handleCall(live: Live, action: string, payload: Payload): unknown {
    if (live.route.features.involves(action)) return this.enqueue(live, action, payload);
    // The path of every message no feature takes part in (the hot path): synchronous up to the outbox.
    const records = this.recordsOf(live, action, payload);
    const answer = this.answerOf(live, action, payload, records);
    if (records.length === 0) return this.answered(live, action, answer);
    // Answer only once the records are committed: the charge point may then forget them.
    return this.deps.outbox.append(records).then(() => this.answered(live, action, answer));
  }

  /** The response, with the handler's follow-up scheduled after the session wrote it (a microtask). */
  private answered(live: Live, action: string, answer: Answer): Payload {
    const work = answer.afterAnswer;
    if (work) {
      setImmediate(() => {
        try {
          work();
        } catch (err) {
          this.deps.afterAnswerFailed(live.session.id, action, err);
        }
      });
    }
    return answer.response;
  }

  /** OCPP 2.1 SEND (e.g. NotifyPeriodicEventStream): mapped like a CALL, never answered. */
  handleSend(live: Live, action: string, payload: Payload): void {
    this.deps.announcer.persist(this.mapData(live, action, payload), live.session.id);
  }

  /** How features see a connection (allocated on first use: idle charge points cost nothing). */
  viewOf(live: Live): ConnectionView {
    if (live.view) return live.view;
    const id = live.session.id;
    const session: ChargePointSession = live.session;
    const view: ConnectionView = {
      chargePointId: id,
      version: session.spec.version,
      // The route's entry: a new configuration moves the connection to a new route.
      get entry() {
        return live.route.entry;
      },
      facts: new Map(),
      device: () => this.deps.announcer.identityFor(live).name,
      call: (action, payload, timeoutMs = DEFAULT_RPC_TIMEOUT_MS) => session.call(action, payload, timeoutMs),
      publish: (kind, values, ts) => this.deps.announcer.persist(this.datapoint(live, kind, values, ts), id),
      isCurrent: () => this.deps.liveOf(id) === live,
    };
    live.view = view;
    return view;
  }

  /** Queues a CALL the features take part in behind the connection's previous ones. */
  private enqueue(live: Live, action: string, payload: Payload): Promise<unknown> {
    // A station that sends CALLs without waiting for answers, while a decision takes seconds
    // (ThingsBoard asked, or unreachable), must not queue work and memory without bound.
    const waiting = live.waiting ?? 0;
    const max = this.deps.config().centralSystem.maxQueuedCalls;
    if (waiting >= max) {
      throw new OcppError('InternalError', `too many calls waiting for a decision (maxQueuedCalls ${max})`);
    }
    live.waiting = waiting + 1;
    const run = (): Promise<unknown> => this.answerWithFeatures(live, action, payload);
    const next = (live.chain ?? Promise.resolve()).then(run, run);
    const settled = async (): Promise<void> => {
      const after = live.after;
      live.after = undefined;
      await after;
      live.waiting = (live.waiting ?? 1) - 1;
    };
    live.chain = next.then(settled, settled);
    return next;
  }

  private async answerWithFeatures(live: Live, action: string, payload: Payload): Promise<unknown> {
    const { features } = live.route;
    const view = this.viewOf(live);
    const refusal = await features.admit(view, action);
    if (refusal) throw refusal;
    const records = this.recordsOf(live, action, payload);
    const answer = this.answerOf(live, action, payload, records);
    const published: { kind: DatapointKind; values: Payload; ts: number | undefined }[] = [];
    const after: (() => void | Promise<unknown>)[] = [];
    const ctx: CallContext = {
      connection: view,
      action,
      payload,
      receivedAt: this.deps.now(),
      response: answer.response,
      publish: (kind, values, ts) => published.push({ kind, values, ts }),
      afterAnswer: (task) => after.push(task),
    };
    try {
      await features.runHooks(ctx);
    } catch (err) {
      // The charge point gets a CALLERROR and may send again; what it sent (and its device's
      // announcement, already made) is stored all the same: at least once, never lost.
      this.deps.announcer.persist(records, live.session.id);
      throw err;
    }
    for (const p of published) records.push(...this.datapoint(live, p.kind, p.values, p.ts));
    if (records.length > 0) await this.deps.outbox.append(records);
    live.after = runAfterAnswer(after, this.deps.failures, { chargePointId: live.session.id, action });
    return this.answered(live, action, { response: ctx.response, afterAnswer: answer.afterAnswer });
  }

  /** A component's answer (its telemetry joins `records`), else the table's. */
  private answerOf(live: Live, action: string, payload: Payload, records: NewRecord[]): Answer {
    const { session } = live;
    const handler = this.deps.handlers().get(action);
    if (handler) {
      const outcome = handler({ session, payload, now: this.deps.now });
      const { telemetry } = outcome;
      if (telemetry) {
        records.push(...this.deps.announcer.telemetry(session.id, telemetry.ts, telemetry.values, live));
      }
      return { response: outcome.response, afterAnswer: outcome.afterAnswer };
    }
    const answer = ANSWERS[session.spec.version].get(action);
    if (!answer) throw new OcppError('NotImplemented', `action "${action}" is not handled`);
    const response = answer({
      payload,
      heartbeatInterval: this.deps.config().centralSystem.heartbeatInterval,
      nextTransactionId: () => this.deps.state.nextTransactionId(),
      now: this.deps.now,
    });
    return { response };
  }

  /**
   * A CALL the Central System takes (the features admitted it): a boot's announcement, the
   * connector statuses the status page shows, the mapped datapoints.
   */
  private recordsOf(live: Live, action: string, payload: Payload): NewRecord[] {
    const records: NewRecord[] = [];
    if (action === 'BootNotification') records.push(...this.deps.announcer.booted(live, payload));
    else if (action === 'StatusNotification') live.activity.noteStatus(payload, this.deps.now());
    records.push(...this.mapData(live, action, payload));
    return records;
  }

  /** The records of one message's datapoints, preceded by a connect if the device is not yet announced. */
  private mapData(live: Live, action: string, payload: Payload): NewRecord[] {
    const { mapper, entry } = live.route;
    if (!mapper.handles(action)) return [];
    const numeric = live.session.spec.version === 'ocpp1.6' && !entry.sampledValuesAsText;
    const scope = mappingScope(
      action,
      numeric ? withNumericSampledValues(action, payload) : payload,
      this.deps.config().centralSystem.maxJsonDepth,
    );
    const { announcer } = this.deps;
    const data = mapper.map(action, scope, announcer.identityFor(live).name, this.deps.now().getTime());
    return announcer.withAnnouncement(live, data);
  }

  /** One datapoint record of a feature, announced first if needed. */
  private datapoint(live: Live, kind: DatapointKind, values: Payload, ts: number | undefined): NewRecord[] {
    const device = this.deps.announcer.identityFor(live).name;
    const body =
      kind === 'telemetry'
        ? JSON.stringify({ ts: ts ?? this.deps.now().getTime(), values })
        : JSON.stringify(values);
    return this.deps.announcer.withAnnouncement(live, [{ kind, device, body }]);
  }
}
