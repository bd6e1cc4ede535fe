/**
 * The idToken list of `list` mode (and of `syncLocalList`): `authorization.idTokens` of ocpp.json
 * merged with the gateway device's shared attribute `ocppIdTokens` (same shape, edited in
 * ThingsBoard, pushed live and read again at every connect). For a token in both, ThingsBoard's
 * entry wins. The last list ThingsBoard gave is kept in the StateStore, so a restart while
 * ThingsBoard is unreachable still knows it.
 */
import type { IdTokenEntry } from '../config/csms-types.js';
import { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { RecordStore } from '../outbox/types.js';
import { idTokenKey, parseIdTokenList } from './id-tokens.js';

export const ID_TOKENS_ATTRIBUTE = 'ocppIdTokens';
const STATE_NAMESPACE = 'authorization';
const STATE_KEY = 'ocppIdTokens';
/** A shared attribute is bounded by ThingsBoard's payload size; this bounds what we hold anyway. */
export const MAX_ATTRIBUTE_ID_TOKENS = 100_000;

export interface ListedToken {
  /** The token as written in the list. */
  token: string;
  entry: IdTokenEntry;
  source: 'config' | 'thingsboard';
}

export class IdTokenDirectory {
  private readonly configured = new Map<string, ListedToken>();
  private fromThingsBoard = new Map<string, ListedToken>();
  private readonly state: RecordStore;
  private readonly logger: Logger;
  /** ThingsBoard may push the attribute often: its complaints are summarised. */
  private readonly warnings: LogSummary;

  constructor(
    idTokens: ReadonlyMap<string, IdTokenEntry>,
    state: RecordStore,
    logger: Logger,
    warnings?: LogSummary,
  ) {
    for (const [token, entry] of idTokens)
      this.configured.set(idTokenKey(token), { token, entry, source: 'config' });
    this.state = state;
    this.logger = logger;
    this.warnings = warnings ?? new LogSummary({ logger });
  }

  /** Loads the list ThingsBoard gave last time (before ThingsBoard answers again). */
  async load(): Promise<void> {
    const saved = await this.state.getRecord(STATE_NAMESPACE, STATE_KEY);
    if (saved !== undefined && this.fromThingsBoard.size === 0) this.apply(saved, false);
  }

  lookup(token: string): ListedToken | undefined {
    const key = idTokenKey(token);
    return this.fromThingsBoard.get(key) ?? this.configured.get(key);
  }

  /** Every listed token, ThingsBoard's entries over the config's. */
  all(): ListedToken[] {
    const merged = new Map(this.configured);
    for (const [key, listed] of this.fromThingsBoard) merged.set(key, listed);
    return [...merged.values()];
  }

  /**
   * ThingsBoard's current `ocppIdTokens` (a JSON object or its text); undefined = the attribute
   * does not exist (deleted), which leaves only the config's list.
   */
  apply(value: unknown, persist = true): void {
    if (value === undefined) {
      this.fromThingsBoard = new Map();
      if (persist) this.save(undefined);
      this.logger.info('ocppIdTokens removed in ThingsBoard: only the idTokens of ocpp.json apply');
      return;
    }
    let v = value;
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        this.warnings.warn(
          'ocpp-id-tokens-not-json',
          {},
          'ocppIdTokens is not JSON: the previous list stays in force',
        );
        return;
      }
    }
    const { entries, problems } = parseIdTokenList(v, MAX_ATTRIBUTE_ID_TOKENS);
    if (problems.length > 0) {
      // Messages name entry positions and masked tokens only.
      this.warnings.warn(
        'ocpp-id-tokens-entries-ignored',
        { problems: problems.slice(0, 20), count: problems.length },
        'ocppIdTokens: entries ignored',
      );
    }
    const next = new Map<string, ListedToken>();
    for (const [key, { token, entry }] of entries) next.set(key, { token, entry, source: 'thingsboard' });
    this.fromThingsBoard = next;
    if (persist) {
      const plain: Record<string, IdTokenEntry> = Object.create(null) as Record<string, IdTokenEntry>;
      for (const { token, entry } of next.values()) plain[token] = entry;
      this.save(plain);
    }
    this.logger.info({ tokens: next.size }, 'ocppIdTokens from ThingsBoard applied');
  }

  private save(value: Record<string, IdTokenEntry> | undefined): void {
    const write =
      value === undefined
        ? this.state.deleteRecord(STATE_NAMESPACE, STATE_KEY)
        : this.state.putRecord(STATE_NAMESPACE, STATE_KEY, value);
    write.catch((err: unknown) =>
      this.warnings.warn(
        'ocpp-id-tokens-not-kept',
        { err: String(err) },
        'could not keep ocppIdTokens in the state store',
      ),
    );
  }
}
