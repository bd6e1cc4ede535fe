/**
 * Per-version knowledge of OCPP-J, one table per version. Everything else takes an
 * OcppVersionSpec as a value carried by the session; nothing outside this file branches on the
 * version string.
 */
import type { OcppVersion } from '../config/types.js';
import type { OcppErrorKind } from './errors.js';

export type { OcppVersion };

export interface OcppVersionSpec {
  version: OcppVersion;
  /** The schema file in schemas/ and how an action's schema $id is spelled in it. */
  schemaFile: string;
  requestSchemaId(action: string): string;
  responseSchemaId(action: string): string;
  /** Wire spelling of each error kind; a kind with no spelling falls back to `fallback`. */
  errorCodes: Partial<Record<OcppErrorKind, string>>;
  /** What an unreadable frame, a frame of the wrong shape and an unknown message type get. */
  frameErrorKind: OcppErrorKind;
  unknownTypeErrorKind: OcppErrorKind;
  /** OCPP 2.x answer a frame whose message id cannot be read with id "-1". */
  answersUnreadableFrames: boolean;
  /** Message types understood besides CALL(2), CALLRESULT(3), CALLERROR(4). */
  extraMessageTypes: ReadonlySet<number>;
  /** OCPP 2.1: messages a charging station may SEND (type 6, never answered), and their schema $id. */
  sendActions: ReadonlySet<string>;
  sendSchemaId(action: string): string;
  /** Actions a charge point may initiate. */
  chargePointActions: ReadonlySet<string>;
  /** Actions the Central System may send. */
  centralSystemActions: ReadonlySet<string>;
}

/** OCPP-J: a message id is at most 36 characters (1.6 §4.1.3; 2.0.1 part 4 §4.1.3). */
export const MAX_MESSAGE_ID_LENGTH = 36;

const OCPP16_ERRORS: Partial<Record<OcppErrorKind, string>> = {
  NotImplemented: 'NotImplemented',
  NotSupported: 'NotSupported',
  InternalError: 'InternalError',
  ProtocolError: 'ProtocolError',
  SecurityError: 'SecurityError',
  // OCPP-J 1.6 §4.2.3 spells these two this way; chargers match on the exact strings.
  FormatViolation: 'FormationViolation',
  OccurrenceConstraintViolation: 'OccurenceConstraintViolation',
  PropertyConstraintViolation: 'PropertyConstraintViolation',
  TypeConstraintViolation: 'TypeConstraintViolation',
  GenericError: 'GenericError',
  // 1.6 has no RpcFrameworkError / MessageTypeNotSupported: a malformed frame is a formation error.
  RpcFrameworkError: 'FormationViolation',
  MessageTypeNotSupported: 'FormationViolation',
};

const OCPP2_ERRORS: Partial<Record<OcppErrorKind, string>> = {
  NotImplemented: 'NotImplemented',
  NotSupported: 'NotSupported',
  InternalError: 'InternalError',
  ProtocolError: 'ProtocolError',
  SecurityError: 'SecurityError',
  FormatViolation: 'FormatViolation',
  OccurrenceConstraintViolation: 'OccurrenceConstraintViolation',
  PropertyConstraintViolation: 'PropertyConstraintViolation',
  TypeConstraintViolation: 'TypeConstraintViolation',
  GenericError: 'GenericError',
  RpcFrameworkError: 'RpcFrameworkError',
  MessageTypeNotSupported: 'MessageTypeNotSupported',
};

const OCPP16: OcppVersionSpec = {
  version: 'ocpp1.6',
  schemaFile: 'ocpp1.6.json',
  requestSchemaId: (a) => `urn:${a}.req`,
  responseSchemaId: (a) => `urn:${a}.conf`,
  errorCodes: OCPP16_ERRORS,
  frameErrorKind: 'FormatViolation',
  unknownTypeErrorKind: 'MessageTypeNotSupported',
  answersUnreadableFrames: false,
  extraMessageTypes: new Set(),
  sendActions: new Set(),
  sendSchemaId: (a) => `urn:${a}`,
  chargePointActions: new Set([
    'Authorize',
    'BootNotification',
    'DataTransfer',
    'DiagnosticsStatusNotification',
    'FirmwareStatusNotification',
    'Heartbeat',
    'MeterValues',
    'StartTransaction',
    'StatusNotification',
    'StopTransaction',
    // Security extension for 1.6 (OCPP 1.6 security whitepaper edition 3)
    'LogStatusNotification',
    'SecurityEventNotification',
    'SignCertificate',
    'SignedFirmwareStatusNotification',
  ]),
  centralSystemActions: new Set([
    'CancelReservation',
    'ChangeAvailability',
    'ChangeConfiguration',
    'ClearCache',
    'ClearChargingProfile',
    'DataTransfer',
    'GetCompositeSchedule',
    'GetConfiguration',
    'GetDiagnostics',
    'GetLocalListVersion',
    'RemoteStartTransaction',
    'RemoteStopTransaction',
    'ReserveNow',
    'Reset',
    'SendLocalList',
    'SetChargingProfile',
    'TriggerMessage',
    'UnlockConnector',
    'UpdateFirmware',
    'CertificateSigned',
    'DeleteCertificate',
    'ExtendedTriggerMessage',
    'GetInstalledCertificateIds',
    'GetLog',
    'InstallCertificate',
    'SignedUpdateFirmware',
  ]),
};

const OCPP201_CP_ACTIONS = [
  'Authorize',
  'BootNotification',
  'ClearedChargingLimit',
  'DataTransfer',
  'FirmwareStatusNotification',
  'Get15118EVCertificate',
  'GetCertificateStatus',
  'Heartbeat',
  'LogStatusNotification',
  'MeterValues',
  'NotifyChargingLimit',
  'NotifyCustomerInformation',
  'NotifyDisplayMessages',
  'NotifyEVChargingNeeds',
  'NotifyEVChargingSchedule',
  'NotifyEvent',
  'NotifyMonitoringReport',
  'NotifyReport',
  'PublishFirmwareStatusNotification',
  'ReportChargingProfiles',
  'ReservationStatusUpdate',
  'SecurityEventNotification',
  'SignCertificate',
  'StatusNotification',
  'TransactionEvent',
];

const OCPP201_CS_ACTIONS = [
  'CancelReservation',
  'CertificateSigned',
  'ChangeAvailability',
  'ClearCache',
  'ClearChargingProfile',
  'ClearDisplayMessage',
  'ClearVariableMonitoring',
  'CostUpdated',
  'CustomerInformation',
  'DataTransfer',
  'DeleteCertificate',
  'GetBaseReport',
  'GetChargingProfiles',
  'GetCompositeSchedule',
  'GetDisplayMessages',
  'GetInstalledCertificateIds',
  'GetLocalListVersion',
  'GetLog',
  'GetMonitoringReport',
  'GetReport',
  'GetTransactionStatus',
  'GetVariables',
  'InstallCertificate',
  'PublishFirmware',
  'RequestStartTransaction',
  'RequestStopTransaction',
  'ReserveNow',
  'Reset',
  'SendLocalList',
  'SetChargingProfile',
  'SetDisplayMessage',
  'SetMonitoringBase',
  'SetMonitoringLevel',
  'SetNetworkProfile',
  'SetVariableMonitoring',
  'SetVariables',
  'TriggerMessage',
  'UnlockConnector',
  'UnpublishFirmware',
  'UpdateFirmware',
];

const OCPP201: OcppVersionSpec = {
  version: 'ocpp2.0.1',
  schemaFile: 'ocpp2.0.1.json',
  requestSchemaId: (a) => `urn:${a}.req`,
  responseSchemaId: (a) => `urn:${a}.conf`,
  errorCodes: OCPP2_ERRORS,
  frameErrorKind: 'RpcFrameworkError',
  unknownTypeErrorKind: 'MessageTypeNotSupported',
  answersUnreadableFrames: true,
  extraMessageTypes: new Set(),
  sendActions: new Set(),
  sendSchemaId: (a) => `urn:${a}`,
  chargePointActions: new Set(OCPP201_CP_ACTIONS),
  centralSystemActions: new Set(OCPP201_CS_ACTIONS),
};

const OCPP21: OcppVersionSpec = {
  version: 'ocpp2.1',
  schemaFile: 'ocpp2.1.json',
  requestSchemaId: (a) => `urn:${a}Request`,
  responseSchemaId: (a) => `urn:${a}Response`,
  errorCodes: OCPP2_ERRORS,
  frameErrorKind: 'RpcFrameworkError',
  unknownTypeErrorKind: 'MessageTypeNotSupported',
  answersUnreadableFrames: true,
  // OCPP 2.1 part 4 §4.2: CALLRESULTERROR (5) and SEND (6).
  extraMessageTypes: new Set([5, 6]),
  // The one SEND of OCPP 2.1 (periodic event streams); its schema id has no Request/Response
  // suffix, as nothing answers it.
  sendActions: new Set(['NotifyPeriodicEventStream']),
  sendSchemaId: (a) => `urn:${a}`,
  // Directions as in the OCPP 2.1 message list (part 2, "Messages"): GetTariffs (block I,
  // tariffs installed on a station), NotifyAllowedEnergyTransfer (ISO 15118-20 energy transfer
  // modes) and NotifyWebPaymentStarted (block C, ad hoc payment by dynamic QR code) are sent by
  // the CSMS; every action listed here is sent by the station.
  chargePointActions: new Set([
    ...OCPP201_CP_ACTIONS,
    'BatterySwap',
    'ClosePeriodicEventStream',
    'GetCertificateChainStatus',
    'NotifyDERAlarm',
    'NotifyDERStartStop',
    'NotifyPriorityCharging',
    'NotifySettlement',
    'OpenPeriodicEventStream',
    'PullDynamicScheduleUpdate',
    'ReportDERControl',
    'VatNumberValidation',
  ]),
  centralSystemActions: new Set([
    ...OCPP201_CS_ACTIONS,
    'AdjustPeriodicEventStream',
    'AFRRSignal',
    'ChangeTransactionTariff',
    'ClearDERControl',
    'ClearTariffs',
    'GetDERControl',
    'GetPeriodicEventStream',
    'GetTariffs',
    'NotifyAllowedEnergyTransfer',
    'NotifyWebPaymentStarted',
    'RequestBatterySwap',
    'SetDefaultTariff',
    'SetDERControl',
    'UpdateDynamicSchedule',
    'UsePriorityCharging',
  ]),
};

export const OCPP_VERSIONS: Readonly<Record<OcppVersion, OcppVersionSpec>> = {
  'ocpp1.6': OCPP16,
  'ocpp2.0.1': OCPP201,
  'ocpp2.1': OCPP21,
};

/** Newest first: the server picks the first of these that the charge point offers and config allows. */
export const VERSION_PREFERENCE: readonly OcppVersion[] = ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6'];

export function spellError(spec: OcppVersionSpec, kind: OcppErrorKind): string {
  return spec.errorCodes[kind] ?? 'GenericError';
}
