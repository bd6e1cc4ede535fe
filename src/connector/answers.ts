/**
 * How the Central System answers each action a charge point initiates, one table per OCPP
 * version. The answers are the permissive ones a gateway gives (it is no authorization or
 * billing back-end): Accepted for boots, tokens and data transfers.
 */
import type { OcppVersion } from '../config/types.js';

export interface AnswerContext {
  payload: Record<string, unknown>;
  /** BootNotification `interval`, seconds. */
  heartbeatInterval: number;
  /** A new transaction id, never reused (1.6 StartTransaction). */
  nextTransactionId(): number;
  now(): Date;
}

type Answer = (ctx: AnswerContext) => Record<string, unknown>;

const empty: Answer = () => ({});
const accepted: Answer = () => ({ status: 'Accepted' });
const currentTime = (ctx: AnswerContext): string => ctx.now().toISOString();
/** The request was validated against its schema before it got here; this only narrows the type. */
const asRecords = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];

const OCPP16: Record<string, Answer> = {
  BootNotification: (ctx) => ({
    status: 'Accepted',
    currentTime: currentTime(ctx),
    interval: ctx.heartbeatInterval,
  }),
  Heartbeat: (ctx) => ({ currentTime: currentTime(ctx) }),
  Authorize: () => ({ idTagInfo: { status: 'Accepted' } }),
  StartTransaction: (ctx) => ({ transactionId: ctx.nextTransactionId(), idTagInfo: { status: 'Accepted' } }),
  StopTransaction: (ctx) => (ctx.payload.idTag === undefined ? {} : { idTagInfo: { status: 'Accepted' } }),
  StatusNotification: empty,
  MeterValues: empty,
  DataTransfer: accepted,
  FirmwareStatusNotification: empty,
  DiagnosticsStatusNotification: empty,
  LogStatusNotification: empty,
  SecurityEventNotification: empty,
  SignedFirmwareStatusNotification: empty,
  // The gateway is no certificate authority: a CSR cannot be signed here.
  SignCertificate: () => ({ status: 'Rejected' }),
};

const OCPP201: Record<string, Answer> = {
  BootNotification: (ctx) => ({
    status: 'Accepted',
    currentTime: currentTime(ctx),
    interval: ctx.heartbeatInterval,
  }),
  Heartbeat: (ctx) => ({ currentTime: currentTime(ctx) }),
  Authorize: () => ({ idTokenInfo: { status: 'Accepted' } }),
  TransactionEvent: (ctx) =>
    ctx.payload.idToken === undefined ? {} : { idTokenInfo: { status: 'Accepted' } },
  StatusNotification: empty,
  MeterValues: empty,
  DataTransfer: accepted,
  NotifyReport: empty,
  NotifyEvent: empty,
  NotifyMonitoringReport: empty,
  NotifyChargingLimit: empty,
  ClearedChargingLimit: empty,
  NotifyCustomerInformation: empty,
  NotifyDisplayMessages: empty,
  NotifyEVChargingNeeds: accepted,
  NotifyEVChargingSchedule: accepted,
  SecurityEventNotification: empty,
  FirmwareStatusNotification: empty,
  PublishFirmwareStatusNotification: empty,
  LogStatusNotification: empty,
  ReportChargingProfiles: empty,
  ReservationStatusUpdate: empty,
  SignCertificate: () => ({ status: 'Rejected' }),
  Get15118EVCertificate: () => ({ status: 'Failed', exiResponse: '' }),
  GetCertificateStatus: () => ({ status: 'Failed' }),
};

const OCPP21: Record<string, Answer> = {
  ...OCPP201,
  BatterySwap: empty,
  ClosePeriodicEventStream: empty,
  // The gateway runs no OCSP/CRL client: each certificate asked about is "Unknown" (the schema
  // wants one entry per request, 1..4), to be asked again no sooner than now.
  GetCertificateChainStatus: (ctx) => ({
    certificateStatus: asRecords(ctx.payload.certificateStatusRequests).map((r) => ({
      certificateHashData: r.certificateHashData,
      source: r.source,
      status: 'Unknown',
      nextUpdate: currentTime(ctx),
    })),
  }),
  GetTariffs: () => ({ status: 'NoTariff' }),
  NotifyAllowedEnergyTransfer: accepted,
  NotifyDERAlarm: empty,
  NotifyDERStartStop: empty,
  NotifyPriorityCharging: empty,
  NotifySettlement: empty,
  NotifyWebPaymentStarted: empty,
  OpenPeriodicEventStream: accepted,
  PullDynamicScheduleUpdate: () => ({ status: 'Rejected' }),
  ReportDERControl: empty,
  VatNumberValidation: (ctx) => ({ vatNumber: ctx.payload.vatNumber, status: 'Rejected' }),
};

/** Maps, because the action name comes from the charge point (`constructor` is a valid string). */
export const ANSWERS: Readonly<Record<OcppVersion, ReadonlyMap<string, Answer>>> = {
  'ocpp1.6': new Map(Object.entries(OCPP16)),
  'ocpp2.0.1': new Map(Object.entries(OCPP201)),
  'ocpp2.1': new Map(Object.entries(OCPP21)),
};

/**
 * Values the device name/type expressions see besides the boot payload itself: `${Vendor}` and
 * `${Model}` as in the Python connector, wherever the version keeps them.
 */
export function bootAliases(version: OcppVersion, payload: Record<string, unknown>): Record<string, unknown> {
  switch (version) {
    case 'ocpp1.6':
      return { Vendor: payload.chargePointVendor, Model: payload.chargePointModel };
    case 'ocpp2.0.1':
    case 'ocpp2.1': {
      const station = (payload.chargingStation ?? {}) as Record<string, unknown>;
      return { ...station, Vendor: station.vendorName, Model: station.model };
    }
  }
}
