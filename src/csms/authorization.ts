/**
 * Authorization decisions: one answer for Authorize, StartTransaction, StopTransaction,
 * TransactionEvent with an idToken and remote starts, per `authorization.mode`:
 *
 * - acceptAll: Accepted (the behaviour without an `authorization` key);
 * - list: the IdTokenDirectory; an entry past its expiryDate answers Expired (OCPP 1.6 IdTagInfo,
 *   2.0.1 IdTokenInfoType), a token whose group entry is not Accepted takes the group's status (a blocked
 *   fleet card blocks its members), an unlisted token gets `unknownStatus`;
 * - thingsboard: a client-side RPC of the gateway device asks ThingsBoard (a rule chain decides);
 *   Accepted answers are cached per charge point and token with their cacheExpiryDateTime (OCPP
 *   2.0.1 C10: a station's own cache keeps only Accepted tokens too) and, without an answer in
 *   time, `whenThingsBoardUnreachable` applies: the cached answer, Accepted, or `unknownStatus`.
 *   Refusals are not kept: a station sending made-up tokens cannot grow the cache, and a token
 *   ThingsBoard stops accepting loses its cached answer at once.
 *
 * Tokens of type NoAuthorization carry no identity (2.0.1 IdTokenEnumType) and are Accepted.
 */
import { createHash } from 'node:crypto';
import {
  AUTHORIZATION_STATUSES,
  type AuthorizationConfig,
  type AuthorizationStatus,
} from '../config/csms-types.js';
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { RecordStore } from '../outbox/types.js';
import type { IdTokenDirectory } from './id-token-directory.js';
import { idTokenKey, isAuthorizationStatus, isRfc3339, type IdTokenPresenter } from './id-tokens.js';

export type AuthorizationTrigger =
  'Authorize' | 'StartTransaction' | 'StopTransaction' | 'TransactionEvent' | 'RemoteStart';

export interface AuthorizationRequest {
  chargePointId: string;
  device: string;
  idToken: string;
  /** 2.x IdTokenEnumType; `IdTag` for OCPP 1.6, which has no token types. */
  type: string;
  evseId?: number;
  connectorId?: number;
  trigger: AuthorizationTrigger;
}

export type DecisionSource =
  'acceptAll' | 'list' | 'thingsboard' | 'cache' | 'unreachable' | 'noAuthorization';

export interface Decision {
  status: AuthorizationStatus;
  /** Until when the answer holds (1.6 idTagInfo.expiryDate, 2.x idTokenInfo.cacheExpiryDateTime). */
  expiryDate?: string;
  /** The idToken of the token's group (1.6 parentIdTag, 2.x groupIdToken). */
  groupId?: string;
  source: DecisionSource;
}

export interface AuthorizationCounters {
  decisions: number;
  /** Not Accepted. */
  refused: number;
  askedThingsBoard: number;
  thingsBoardUnreachable: number;
  cacheHits: number;
}

/** What thingsboard mode needs: the gateway device's client-side RPC. */
export interface AuthorizationRpc {
  requestRpc(method: string, params: unknown, timeoutMs: number): Promise<unknown>;
}

const CACHE_NAMESPACE = 'authorization-cache';
/** A ThingsBoard answer is kept this long after it was given, as the fallback when it is unreachable. */
const CACHE_RETENTION_MS = 7 * 24 * 3600_000;
const SWEEP_INTERVAL_MS = 3600_000;

interface CachedAnswer {
  status: AuthorizationStatus;
  expiryDate?: string;
  groupId?: string;
  /** Milliseconds: used without asking until then (from cacheExpiryDateTime). */
  freshUntil: number;
  /** Milliseconds: removed after that. */
  keepUntil: number;
}

export class AuthorizationService {
  readonly counters: AuthorizationCounters = {
    decisions: 0,
    refused: 0,
    askedThingsBoard: 0,
    thingsBoardUnreachable: 0,
    cacheHits: 0,
  };
  /** Decisions by status (a fixed key set: the statuses OCPP defines). */
  readonly byStatus: Record<AuthorizationStatus, number>;
  readonly presenter: IdTokenPresenter;
  readonly config: AuthorizationConfig;
  private readonly directory: IdTokenDirectory;
  private readonly state: RecordStore;
  private readonly rpc: AuthorizationRpc | undefined;
  private readonly logger: Logger;
  private readonly warnings: LogSummary;
  private readonly now: () => Date;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(deps: {
    config: AuthorizationConfig;
    directory: IdTokenDirectory;
    presenter: IdTokenPresenter;
    state: RecordStore;
    rpc: AuthorizationRpc | undefined;
    logger: Logger;
    /** Per-decision warnings, summarised (ThingsBoard unreachable means one per card presented). */
    warnings?: LogSummary;
    now: () => Date;
  }) {
    this.config = deps.config;
    this.directory = deps.directory;
    this.presenter = deps.presenter;
    this.state = deps.state;
    this.rpc = deps.rpc;
    this.logger = deps.logger;
    this.warnings = deps.warnings ?? new LogSummary({ logger: deps.logger });
    this.now = deps.now;
    this.byStatus = Object.fromEntries(AUTHORIZATION_STATUSES.map((s) => [s, 0])) as Record<
      AuthorizationStatus,
      number
    >;
  }

  start(): void {
    if (this.config.mode !== 'thingsboard') return;
    this.sweepTimer = setInterval(() => void this.sweepCache(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  async decide(req: AuthorizationRequest): Promise<Decision> {
    const decision = await this.decideUncounted(req);
    this.counters.decisions++;
    this.byStatus[decision.status]++;
    if (decision.status !== 'Accepted') this.counters.refused++;
    return decision;
  }

  private async decideUncounted(req: AuthorizationRequest): Promise<Decision> {
    if (req.type === 'NoAuthorization') return { status: 'Accepted', source: 'noAuthorization' };
    switch (this.config.mode) {
      case 'acceptAll':
        return { status: 'Accepted', source: 'acceptAll' };
      case 'list':
        return this.fromList(req.idToken);
      case 'thingsboard':
        return this.fromThingsBoard(req);
    }
  }

  private fromList(token: string): Decision {
    const listed = this.directory.lookup(token);
    if (!listed) return { status: this.config.unknownStatus, source: 'list' };
    const { entry } = listed;
    const decision: Decision = {
      status: this.effectiveStatus(entry.status, entry.expiryDate),
      source: 'list',
    };
    if (entry.expiryDate !== undefined) decision.expiryDate = entry.expiryDate;
    if (entry.groupId !== undefined) {
      decision.groupId = entry.groupId;
      const group =
        idTokenKey(entry.groupId) === idTokenKey(token) ? undefined : this.directory.lookup(entry.groupId);
      if (group && decision.status === 'Accepted') {
        const groupStatus = this.effectiveStatus(group.entry.status, group.entry.expiryDate);
        if (groupStatus !== 'Accepted') decision.status = groupStatus;
      }
    }
    return decision;
  }

  private effectiveStatus(status: AuthorizationStatus, expiryDate: string | undefined): AuthorizationStatus {
    if (status === 'Accepted' && expiryDate !== undefined && Date.parse(expiryDate) <= this.now().getTime()) {
      return 'Expired';
    }
    return status;
  }

  private async fromThingsBoard(req: AuthorizationRequest): Promise<Decision> {
    const key = cacheKey(req.chargePointId, req.idToken);
    const cached = await this.readCache(key);
    const now = this.now().getTime();
    if (cached && cached.freshUntil > now) {
      this.counters.cacheHits++;
      return this.fromCache(cached);
    }
    const params: Record<string, unknown> = {
      device: req.device,
      chargePointId: req.chargePointId,
      idToken: req.idToken,
      type: req.type,
    };
    if (req.evseId !== undefined) params.evseId = req.evseId;
    if (req.connectorId !== undefined) params.connectorId = req.connectorId;
    this.counters.askedThingsBoard++;
    let answer: ThingsBoardAnswer | undefined;
    let why = '';
    try {
      if (!this.rpc) throw new Error('no ThingsBoard link');
      const raw = await this.rpc.requestRpc(this.config.rpcMethod, params, this.config.timeoutMs);
      answer = parseThingsBoardAnswer(raw);
      if (!answer) why = 'the answer has no valid status';
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    if (answer) {
      this.writeCache(key, answer, now);
      const decision: Decision = { status: answer.status, source: 'thingsboard' };
      if (answer.expiryDate !== undefined) decision.expiryDate = answer.expiryDate;
      if (answer.groupId !== undefined) decision.groupId = answer.groupId;
      return decision;
    }
    this.counters.thingsBoardUnreachable++;
    this.warnings.warn(
      'authorization-unanswered',
      {
        chargePointId: req.chargePointId,
        idToken: this.presenter.present(req.idToken),
        reason: why,
        policy: this.config.whenThingsBoardUnreachable,
      },
      'no authorization decision from ThingsBoard',
    );
    switch (this.config.whenThingsBoardUnreachable) {
      case 'accept':
        return { status: 'Accepted', source: 'unreachable' };
      case 'reject':
        return { status: this.config.unknownStatus, source: 'unreachable' };
      case 'cache':
        if (cached) {
          this.counters.cacheHits++;
          return this.fromCache(cached);
        }
        return { status: this.config.unknownStatus, source: 'unreachable' };
    }
  }

  private fromCache(cached: CachedAnswer): Decision {
    const decision: Decision = { status: cached.status, source: 'cache' };
    if (cached.expiryDate !== undefined) decision.expiryDate = cached.expiryDate;
    if (cached.groupId !== undefined) decision.groupId = cached.groupId;
    return decision;
  }

  private async readCache(key: string): Promise<CachedAnswer | undefined> {
    try {
      const v = await this.state.getRecord(CACHE_NAMESPACE, key);
      return isCachedAnswer(v) ? v : undefined;
    } catch (err) {
      this.warnings.warn(
        'authorization-cache-unreadable',
        { err: String(err) },
        'authorization cache unreadable',
      );
      return undefined;
    }
  }

  private writeCache(key: string, answer: ThingsBoardAnswer, now: number): void {
    if (answer.status !== 'Accepted') {
      this.state
        .deleteRecord(CACHE_NAMESPACE, key)
        .catch((err: unknown) =>
          this.warnings.warn(
            'authorization-cache-write-failed',
            { err: String(err) },
            'could not drop a cached authorization',
          ),
        );
      return;
    }
    const record: CachedAnswer = {
      status: answer.status,
      freshUntil: answer.cacheExpiryDateTime === undefined ? 0 : Date.parse(answer.cacheExpiryDateTime),
      keepUntil: now + CACHE_RETENTION_MS,
    };
    if (answer.expiryDate !== undefined) record.expiryDate = answer.expiryDate;
    if (answer.groupId !== undefined) record.groupId = answer.groupId;
    this.state
      .putRecord(CACHE_NAMESPACE, key, record)
      .catch((err: unknown) =>
        this.warnings.warn(
          'authorization-cache-write-failed',
          { err: String(err) },
          'could not cache an authorization answer',
        ),
      );
  }

  /** Drops answers older than the retention, so the cache is bounded by the tokens of a week. */
  private async sweepCache(): Promise<void> {
    try {
      const now = this.now().getTime();
      for (const [key, v] of await this.state.listRecords(CACHE_NAMESPACE)) {
        if (!isCachedAnswer(v) || v.keepUntil <= now) await this.state.deleteRecord(CACHE_NAMESPACE, key);
      }
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'authorization cache sweep failed');
    }
  }
}

/**
 * Cached per charge point (a rule chain may decide per site) and token; the key is a hash, so the
 * state store never holds a token in clear.
 */
function cacheKey(chargePointId: string, token: string): string {
  return createHash('sha256').update(chargePointId).update('\u0000').update(idTokenKey(token)).digest('hex');
}

function isCachedAnswer(v: unknown): v is CachedAnswer {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    isAuthorizationStatus(c.status) && typeof c.freshUntil === 'number' && typeof c.keepUntil === 'number'
  );
}

interface ThingsBoardAnswer {
  status: AuthorizationStatus;
  expiryDate?: string;
  groupId?: string;
  cacheExpiryDateTime?: string;
}

/**
 * A rule chain may answer flat (`{"status", "expiryDate"?, "groupId"?, "cacheExpiryDateTime"?}`),
 * or with an OCPP-shaped `idTokenInfo` (2.x: `groupIdToken.idToken`) or `idTagInfo` (1.6:
 * `parentIdTag`, `expiryDate`).
 */
export function parseThingsBoardAnswer(raw: unknown): ThingsBoardAnswer | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const top = raw as Record<string, unknown>;
  const inner = [top.idTokenInfo, top.idTagInfo].find(
    (x): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x),
  );
  const info = inner ?? top;
  if (!isAuthorizationStatus(info.status)) return undefined;
  const answer: ThingsBoardAnswer = { status: info.status };
  const cacheUntil = info.cacheExpiryDateTime ?? top.cacheExpiryDateTime;
  if (isRfc3339(cacheUntil)) answer.cacheExpiryDateTime = cacheUntil;
  const expiry = info.expiryDate ?? cacheUntil;
  if (isRfc3339(expiry)) answer.expiryDate = expiry;
  const group =
    info.groupId ??
    info.parentIdTag ??
    (typeof info.groupIdToken === 'object' && info.groupIdToken !== null
      ? (info.groupIdToken as Record<string, unknown>).idToken
      : undefined);
  if (typeof group === 'string' && group !== '' && group.length <= 255) answer.groupId = group;
  return answer;
}
