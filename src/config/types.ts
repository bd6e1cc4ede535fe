/**
 * The validated, defaulted configuration: what src/config/load.ts produces from tb_gateway.json
 * and the ocpp.json files it names. Everything downstream trusts these types.
 */
import type { CompiledTemplate } from '../expressions/types.js';
import type { AuthorizationConfig, ChargePointCsmsConfig, ValueType } from './csms-types.js';

export type OcppVersion = 'ocpp1.6' | 'ocpp2.0.1' | 'ocpp2.1';

export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ThingsBoardConfig {
  host: string;
  port: number;
  qos: 0 | 1;
  /** MQTT username: the gateway device's access token, or usernamePassword's username. */
  username?: string;
  password?: string;
  clientId?: string;
  /** Present when the connection to the broker is TLS (mqtts). */
  tls?: TlsFiles;
  /** Largest MQTT payload the publisher packs (tb_gateway.json `maxPayloadSizeBytes`). */
  maxPayloadSizeBytes: number;
  /** Reconnect backoff: first delay and cap, milliseconds; jitter is applied on top. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** On SIGTERM/SIGINT, how long to keep publishing the outbox before exiting. */
  shutdownGracePeriodMs: number;
  /** Deepest nesting of objects/arrays accepted in a message from ThingsBoard. */
  maxJsonDepth: number;
}

export type StorageConfig =
  | { type: 'memory'; maxRecordsCount: number; maxReadRecordsCount: number }
  | {
      type: 'sqlite';
      /** Absolute path of the database file. */
      dataFilePath: string;
      maxRecordsCount: number;
      maxReadRecordsCount: number;
      /** 0 = records never expire. */
      messagesTtlInDays: number;
      /** storage.max_database_size_mb in bytes; past it writes fail as on a full disk. */
      maxDatabaseSizeBytes?: number;
      /** storage.min_free_disk_space_mb in bytes (0 = none): below it new records are refused. */
      minFreeDiskBytes: number;
    };

/**
 * `connection.signingCa`: the CA that signs charge point certificates asked for with
 * SignCertificate (OCPP 2.0.1 A02/A03; 1.6 security whitepaper A02/A03).
 */
export interface SigningCaConfig {
  /** Absolute path of the CA certificate file (it may hold the CA's own chain after it). */
  certFile: string;
  cert: Buffer;
  key: Buffer;
  password?: string;
  /** The organization (O) a CSR's subject must name; default: the CA certificate's own O. */
  organization?: string;
  /** Validity of a signed certificate, days. */
  validityDays: number;
}

export type ConnectionConfig =
  | { type: 'insecure'; signingCa?: SigningCaConfig }
  | {
      type: 'tls';
      /** Server certificates and their keys, paired by position (e.g. one RSA and one ECDSA). */
      cert: Buffer[];
      key: Buffer[];
      /** Absolute paths the TLS material was read from, watched for renewals. */
      files: { cert: string[]; key: string[]; ca?: string };
      password?: string;
      ca?: Buffer;
      requireClientCertificate: boolean;
      /** Profile 3: the client certificate's CN must equal the charge point identity. */
      clientCertificateCnMustMatchId: boolean;
      /** Allow TLS 1.0/1.1 for legacy 1.6 chargers (off: TLS 1.2 minimum). */
      allowLegacyTls: boolean;
      /** How often the certificate files are checked for changes, ms; 0 = never. */
      certificateCheckIntervalMs: number;
      signingCa?: SigningCaConfig;
    };

export type SecurityRule =
  | { type: 'token'; tokens: string[] }
  | {
      type: 'basic';
      credentials: { username: string; password: string }[];
      /** OCPP security whitepaper A00.FR.203–205: username must equal the charge point id. */
      usernameIsChargePointId: boolean;
      /**
       * Per charge point: plain passwords, and/or sha256 hex digests (from a passwords file). Maps,
       * because the key is the identity a stranger sends (`__proto__` and `constructor` are ids).
       */
      passwords: ReadonlyMap<string, string>;
      passwordHashes: ReadonlyMap<string, string>;
    };

export interface CentralSystemConfig {
  name: string;
  host: string;
  port: number;
  connection: ConnectionConfig;
  /** Empty = no authentication (also when the file lists an `anonymous` entry). */
  security: SecurityRule[];
  ocppVersions: OcppVersion[];
  /** Seconds: the `interval` in the BootNotification answer. */
  heartbeatInterval: number;
  /** Seconds between WebSocket pings; a connection that misses one is dropped. 0 disables. */
  pingInterval: number;
  /** Largest accepted WebSocket message, bytes. */
  maxMessageSize: number;
  /** Offer permessage-deflate (no context takeover). */
  compression: boolean;
  /**
   * Seconds after which a charge point that has not booted is announced under the name it can be
   * known by (its charge point id, or a name that needs only the id); 0 = at once.
   */
  announceUnbootedAfter: number;
  /** Deepest nesting of objects/arrays accepted in a frame. */
  maxJsonDepth: number;
  /** Bytes waiting to be sent to one charge point above which reading from it pauses. */
  maxSendBufferSize: number;
  /** How long reading from a charge point may stay paused before it is disconnected. */
  sendStallTimeoutMs: number;
  /** CALLs to one charge point that may wait behind the outstanding one. */
  maxQueuedCalls: number;
  /** Longest charge point id (URL path) accepted at the handshake. */
  maxChargePointIdLength: number;
}

export interface DatapointMapping {
  /** Action names, trimmed, empty items dropped. */
  messageTypes: string[];
  key: CompiledTemplate;
  value: CompiledTemplate;
  /** Convert the rendered value to this type (skip and count when it cannot be). */
  type?: ValueType;
}

export interface DownlinkTarget {
  valueExpression: CompiledTemplate; // compiled in 'json' mode
  /** Send as this OCPP action with the rendered JSON as payload; absent = DataTransfer. */
  action?: string;
  vendorId: string;
  messageId?: string;
}

export interface AttributeUpdateMapping extends DownlinkTarget {
  attributeOnThingsBoard: string;
}

export interface RpcMapping extends DownlinkTarget {
  methodRPC: string;
  withResponse: boolean;
  timeoutMs: number;
}

/** A regular expression from the config and its compiled, whole-match form. */
export interface PatternFilter {
  pattern: string;
  regexp: RegExp;
}

export interface ChargePointConfig extends ChargePointCsmsConfig {
  idRegexpPattern: string;
  /** idRegexpPattern anchored to match the whole id. */
  idRegexp: RegExp;
  /** Remote address / port filters (upstream's `host` / `port`), whole-match. */
  host?: PatternFilter;
  port?: PatternFilter;
  deviceNameExpression: CompiledTemplate;
  deviceTypeExpression: CompiledTemplate;
  attributes: DatapointMapping[];
  timeseries: DatapointMapping[];
  attributeUpdates: AttributeUpdateMapping[];
  serverSideRpc: RpcMapping[];
}

export interface OcppConnectorConfig {
  type: 'ocpp';
  name: string;
  /** Absolute path of this connector's ocpp.json. */
  file: string;
  centralSystem: CentralSystemConfig;
  chargePoints: ChargePointConfig[];
  /** The Central System's authorization policy (ours; default acceptAll). */
  authorization: AuthorizationConfig;
}

/** One window of a rate limit: at most `capacity` per `seconds`. */
export interface RateLimitWindow {
  capacity: number;
  seconds: number;
}

/** The three limits ThingsBoard applies to one kind of traffic; absent = not limited (locally). */
export interface RateLimitSet {
  messages?: RateLimitWindow[];
  telemetryMessages?: RateLimitWindow[];
  telemetryDataPoints?: RateLimitWindow[];
}

/** Local rate limits of tb_gateway.json, applied on top of ThingsBoard's session limits. */
export interface RateLimitOverrides {
  /** The gateway device's own messages (statistics, configuration, logs, RPC replies to it). */
  device: RateLimitSet;
  /** The devices behind the gateway (the charge points' data). */
  devices: RateLimitSet;
}

export interface StatisticsConfig {
  enable: boolean;
  /** statsSendPeriodInSeconds, at least 10 s. */
  periodMs: number;
}

/** What the gateway device does in ThingsBoard beside carrying data (tb_gateway.json `thingsboard`). */
export interface GatewayDeviceConfig {
  statistics: StatisticsConfig;
  remoteConfiguration: boolean;
  /** Follow device renames/deletions that ThingsBoard announces (Python default: true). */
  handleDeviceRenaming: boolean;
  rateLimits: RateLimitOverrides;
}

/** The operator's HTTP surface (tb_gateway.json `statusServer`, ours). */
export interface StatusServerConfig {
  enabled: boolean;
  host: string;
  /** 0 = any free port (the bound URL is logged). */
  port: number;
  /** HTTP basic auth for everything but /healthz, /readyz and log uploads. */
  auth?: { username: string; password: string };
  /** Log uploads from stations (GetLog / GetDiagnostics); absent when off. */
  uploads?: UploadsConfig;
}

export interface UploadsConfig {
  /** Absolute path of the folder uploads are stored in (created when needed). */
  folder: string;
  /** Largest accepted file, bytes. */
  maxBytes: number;
  /** The status server's URL as stations reach it (ends with "/"); default: its bound URL. */
  publicUrl?: string;
  /** How long an upload URL handed to a station stays valid, seconds. */
  urlValiditySeconds: number;
}

export interface ConfigNotice {
  level: 'info' | 'warn';
  message: string;
}

export interface GatewayConfig {
  /** Absolute path of tb_gateway.json. */
  file: string;
  thingsboard: ThingsBoardConfig;
  storage: StorageConfig;
  connectors: OcppConnectorConfig[];
  gatewayDevice: GatewayDeviceConfig;
  statusServer: StatusServerConfig;
  /** Things to log once at start-up: ignored keys, aliases, skipped connectors. */
  notices: ConfigNotice[];
}
