/**
 * The Central System's own settings in ocpp.json (ours, all optional): authorization, registration,
 * sessions, tariffs, DataTransfer vendors and value types. Validated and defaulted by
 * src/config/csms-schema.ts; without any of these keys the gateway behaves as before they existed.
 */

/** OCPP 1.6 AuthorizationStatus ∪ OCPP 2.0.1/2.1 AuthorizationStatusEnumType. */
export const AUTHORIZATION_STATUSES = [
  'Accepted',
  'Blocked',
  'ConcurrentTx',
  'Expired',
  'Invalid',
  'NoCredit',
  'NotAllowedTypeEVSE',
  'NotAtThisLocation',
  'NotAtThisTime',
  'Unknown',
] as const;
export type AuthorizationStatus = (typeof AUTHORIZATION_STATUSES)[number];

/** One entry of `authorization.idTokens` or of the gateway device's `ocppIdTokens` attribute. */
export interface IdTokenEntry {
  status: AuthorizationStatus;
  /** RFC 3339; past it the token answers Expired. */
  expiryDate?: string;
  /** The idToken of the token's group (OCPP 1.6 parentIdTag, 2.x groupIdToken). */
  groupId?: string;
  /** OCPP 2.x IdTokenEnumType used when the list is sent to a station (default ISO14443). */
  type?: string;
}

export type AuthorizationMode = 'acceptAll' | 'list' | 'thingsboard';
export type UnreachablePolicy = 'cache' | 'accept' | 'reject';
export type IdTokenPresentation = 'masked' | 'hashed';

export interface AuthorizationConfig {
  mode: AuthorizationMode;
  /** Keyed by the token as written; lookups are case-insensitive (OCPP idTokens are). */
  idTokens: Map<string, IdTokenEntry>;
  /** Status of a token that is in no list (list mode, and thingsboard mode without an answer). */
  unknownStatus: AuthorizationStatus;
  /** thingsboard mode: the client-side RPC method of the gateway device. */
  rpcMethod: string;
  timeoutMs: number;
  whenThingsBoardUnreachable: UnreachablePolicy;
  /** How a token appears in telemetry: masked (`******34`) or hashed (`sha256:…`). */
  idTokenInTelemetry: IdTokenPresentation;
  /** Key of the HMAC used for `hashed` (plain SHA-256 without it). */
  idTokenHashKey?: string;
  /** Publish each decision as `authorization` telemetry of the charge point's device. */
  telemetry: boolean;
  /** False when ocpp.json has no `authorization` key: nothing is published, all is accepted. */
  configured: boolean;
}

export type RegistrationStatus = 'Accepted' | 'Pending' | 'Rejected';

export interface TariffConfig {
  currency: string;
  pricePerKWh: number;
  /** Per minute of charging (while the EV draws energy), or of the transaction when unknown. */
  pricePerMinute: number;
  pricePerSession: number;
  /** Seconds between CostUpdated messages to a 2.x station while it charges; 0 = never. */
  costUpdatedInterval: number;
}

export interface DataTransferVendor {
  vendorId: string;
  /** When present, only these messageIds are taken (others answer UnknownMessageId). */
  messageIds?: string[];
}

/** The values a mapping entry may convert to, as the ThingsBoard gateway's converters name them. */
export const VALUE_TYPES = ['string', 'double', 'long', 'integer', 'boolean', 'json'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** Per chargePoints entry. */
export interface ChargePointCsmsConfig {
  /** Absent: every boot is Accepted and `ocppRegistration` is not read. */
  registration?: RegistrationStatus;
  /** Seconds: the `interval` of a Pending/Rejected BootNotification answer. */
  registrationRetryInterval: number;
  /** Publish session records and connector state (contract: off by default). */
  sessions: boolean;
  tariff?: TariffConfig;
  dataTransferVendors: DataTransferVendor[];
  /** OCPP 1.6 sampledValue.value stays text instead of becoming a number. */
  sampledValuesAsText: boolean;
}
