/**
 * Authorization in the connector: the same decision (AuthorizationService) answers
 * - OCPP 1.6 Authorize, StartTransaction and StopTransaction with an idTag (idTagInfo, §4.1/§4.8/§4.10);
 * - OCPP 2.0.1/2.1 Authorize and TransactionEvent with an idToken (idTokenInfo, C01 and the E block);
 * - remote starts from ThingsBoard (1.6 RemoteStartTransaction, 2.x RequestStartTransaction,
 *   F01): checked before they are sent, refused with an error reply when not Accepted;
 * and every decision is published as `authorization` telemetry of the charge point's device with
 * the token masked or hashed. The `syncLocalList` RPC installs the list in a station.
 */
import type { AuthorizationConfig } from '../config/csms-types.js';
import { isRecord } from '../config/keys.js';
import {
  RpcRefusedError,
  type CallContext,
  type ConnectionView,
  type ConnectorFeature,
  type CsmsThingsBoardLink,
  type SendContext,
} from '../connector/features.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { RecordStore } from '../outbox/types.js';
import type { SharedAttributesUpdate } from '../thingsboard/device-channel.js';
import { AuthorizationService, type AuthorizationTrigger, type Decision } from './authorization.js';
import { ID_TOKENS_ATTRIBUTE, IdTokenDirectory } from './id-token-directory.js';
import { idTagInfo, idTokenInfo } from './id-token-info.js';
import { IdTokenPresenter } from './id-tokens.js';
import { syncLocalList } from './local-list.js';

/** OCPP 1.6 has no token types; this is what ThingsBoard and telemetry are told. */
const OCPP16_TYPE = 'IdTag';
const ATTRIBUTE_REQUEST_TIMEOUT_MS = 10_000;

interface Token {
  idToken: string;
  type: string;
}

function intOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** 1.6 `idTag` (a string) or 2.x `idToken` ({idToken, type}). */
function tokenOf(v: unknown): Token | undefined {
  if (typeof v === 'string' && v !== '') return { idToken: v, type: OCPP16_TYPE };
  if (isRecord(v) && typeof v.idToken === 'string' && v.idToken !== '') {
    return { idToken: v.idToken, type: typeof v.type === 'string' ? v.type : 'ISO14443' };
  }
  return undefined;
}

export class AuthorizationFeature implements ConnectorFeature {
  readonly name = 'authorization';
  readonly service: AuthorizationService;
  readonly directory: IdTokenDirectory;
  readonly onCall: Readonly<Record<string, (ctx: CallContext) => Promise<void>>>;
  readonly rpcMethods: Readonly<Record<string, (c: ConnectionView, params: unknown) => Promise<unknown>>>;
  private readonly config: AuthorizationConfig;
  private readonly thingsboard: CsmsThingsBoardLink | undefined;
  private readonly state: RecordStore;
  private readonly logger: Logger;
  private readonly now: () => Date;

  constructor(deps: {
    config: AuthorizationConfig;
    state: RecordStore;
    thingsboard: CsmsThingsBoardLink | undefined;
    logger: Logger;
    warnings?: LogSummary;
    now: () => Date;
  }) {
    this.config = deps.config;
    this.thingsboard = deps.thingsboard;
    this.state = deps.state;
    this.logger = deps.logger.child({ feature: 'authorization' });
    this.now = deps.now;
    this.directory = new IdTokenDirectory(deps.config.idTokens, deps.state, this.logger, deps.warnings);
    this.service = new AuthorizationService({
      config: deps.config,
      directory: this.directory,
      presenter: new IdTokenPresenter(deps.config.idTokenInTelemetry, deps.config.idTokenHashKey),
      state: deps.state,
      rpc: deps.thingsboard,
      logger: this.logger,
      ...(deps.warnings === undefined ? {} : { warnings: deps.warnings }),
      now: deps.now,
    });
    this.onCall = {
      Authorize: (ctx) => this.answer(ctx, 'Authorize', ctx.payload.idTag ?? ctx.payload.idToken),
      StartTransaction: (ctx) => this.answer(ctx, 'StartTransaction', ctx.payload.idTag),
      StopTransaction: (ctx) => this.answer(ctx, 'StopTransaction', ctx.payload.idTag),
      TransactionEvent: (ctx) => this.answer(ctx, 'TransactionEvent', ctx.payload.idToken),
    };
    this.rpcMethods = {
      syncLocalList: (connection, params) =>
        syncLocalList(connection, params, this.directory.all(), this.state, this.now()),
    };
  }

  /**
   * Without an `authorization` key the default answers (Accepted) stand and nothing is published:
   * the feature stays out of the way, so those charge points keep the connector's synchronous path.
   */
  appliesTo(): boolean {
    return this.config.configured;
  }

  get counters(): Readonly<Record<string, number>> {
    return { ...this.service.counters, ...this.service.byStatus };
  }

  async start(): Promise<void> {
    if (!this.config.configured) return;
    await this.directory.load();
    this.service.start();
  }

  stop(): void {
    this.service.stop();
  }

  /** The gateway device's `ocppIdTokens`, pushed live. */
  onGatewayAttributes(update: SharedAttributesUpdate): void {
    if (!this.config.configured) return;
    if (update.values.has(ID_TOKENS_ATTRIBUTE)) this.directory.apply(update.values.get(ID_TOKENS_ATTRIBUTE));
    else if (update.deleted.includes(ID_TOKENS_ATTRIBUTE)) this.directory.apply(undefined);
  }

  /** ThingsBoard pushes only changes: the current list is read at every connect. */
  onThingsBoardConnected(): void {
    if (!this.config.configured || !this.thingsboard) return;
    this.thingsboard.requestSharedAttributes([ID_TOKENS_ATTRIBUTE], ATTRIBUTE_REQUEST_TIMEOUT_MS).then(
      (shared) => this.directory.apply(shared.get(ID_TOKENS_ATTRIBUTE)),
      (err: unknown) =>
        this.logger.warn({ err: String(err) }, 'could not read ocppIdTokens from ThingsBoard'),
    );
  }

  /** OCPP 2.0.1 F01/F02, 1.6 §5.11: a remote start is authorized like a local one, before it is sent. */
  async beforeSend(ctx: SendContext): Promise<void> {
    if (ctx.action !== 'RemoteStartTransaction' && ctx.action !== 'RequestStartTransaction') return;
    const p = isRecord(ctx.payload) ? ctx.payload : {};
    const token = tokenOf(ctx.action === 'RemoteStartTransaction' ? p.idTag : p.idToken);
    if (!token) return; // the schema check that follows reports it
    const where =
      ctx.action === 'RemoteStartTransaction'
        ? { connectorId: intOf(p.connectorId) }
        : { evseId: intOf(p.evseId) };
    const decision = await this.decide(ctx.connection, 'RemoteStart', token, where);
    this.report(ctx.connection.publish, token, 'RemoteStart', decision, where);
    if (decision.status !== 'Accepted') {
      throw new RpcRefusedError(
        `${ctx.action} not sent: idToken ${this.service.presenter.present(token.idToken)} is ${decision.status}`,
      );
    }
  }

  private async answer(ctx: CallContext, trigger: AuthorizationTrigger, raw: unknown): Promise<void> {
    const token = tokenOf(raw);
    if (!token) return;
    const p = ctx.payload;
    const evse = isRecord(p.evse) ? p.evse : undefined;
    const where = {
      evseId: intOf(evse?.id ?? p.evseId),
      connectorId: intOf(evse?.connectorId ?? p.connectorId),
    };
    const decision = await this.decide(ctx.connection, trigger, token, where);
    if (ctx.connection.version === 'ocpp1.6') ctx.response.idTagInfo = idTagInfo(decision);
    else ctx.response.idTokenInfo = idTokenInfo(ctx.connection.version, decision);
    this.report(ctx.publish, token, trigger, decision, where);
  }

  private decide(
    connection: ConnectionView,
    trigger: AuthorizationTrigger,
    token: Token,
    where: { evseId?: number | undefined; connectorId?: number | undefined },
  ): Promise<Decision> {
    return this.service.decide({
      chargePointId: connection.chargePointId,
      device: connection.device(),
      idToken: token.idToken,
      type: token.type,
      trigger,
      ...(where.evseId === undefined ? {} : { evseId: where.evseId }),
      ...(where.connectorId === undefined ? {} : { connectorId: where.connectorId }),
    });
  }

  private report(
    publish: CallContext['publish'],
    token: Token,
    trigger: AuthorizationTrigger,
    decision: Decision,
    where: { evseId?: number | undefined; connectorId?: number | undefined },
  ): void {
    if (!this.config.telemetry) return;
    const event: Record<string, unknown> = {
      idToken: this.service.presenter.present(token.idToken),
      type: token.type,
      status: decision.status,
      trigger,
      source: decision.source,
    };
    if (where.evseId !== undefined) event.evseId = where.evseId;
    if (where.connectorId !== undefined) event.connectorId = where.connectorId;
    publish('telemetry', { authorization: event });
  }
}
