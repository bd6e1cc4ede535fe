/**
 * The Central System's features, built from one connector's configuration. Rebuilding them (a
 * new configuration) rebuilds their per-entry state; what must outlive them is in the StateStore.
 */
import type { OcppConnectorConfig } from '../config/types.js';
import type { ConnectorFeature, CsmsThingsBoardLink } from '../connector/features.js';
import type { LogSummary } from '../log-summary.js';
import type { Logger } from '../log.js';
import type { RecordStore } from '../outbox/types.js';
import { AuthorizationFeature } from './authorization-feature.js';
import { DataTransferFeature } from './data-transfer.js';
import { RegistrationFeature } from './registration.js';
import { SessionsFeature } from './sessions-feature.js';

export interface CsmsFeatures {
  /** In the order they see each CALL: registration first (it may refuse), then the answers. */
  all: ConnectorFeature[];
  authorization: AuthorizationFeature;
  sessions: SessionsFeature;
}

export function createCsmsFeatures(deps: {
  config: OcppConnectorConfig;
  state: RecordStore;
  thingsboard: CsmsThingsBoardLink | undefined;
  logger: Logger;
  /** Per-message warnings (the connector's, shared by the gateway's stages). */
  warnings: LogSummary;
  now: () => Date;
}): CsmsFeatures {
  const { state, thingsboard, logger, warnings, now } = deps;
  const registration = new RegistrationFeature({ state, thingsboard, logger, warnings });
  const authorization = new AuthorizationFeature({
    config: deps.config.authorization,
    state,
    thingsboard,
    logger,
    warnings,
    now,
  });
  const sessions = new SessionsFeature({
    state,
    presenter: authorization.service.presenter,
    thingsboard,
    logger,
    warnings,
    now,
  });
  return { all: [registration, authorization, sessions, new DataTransferFeature()], authorization, sessions };
}
