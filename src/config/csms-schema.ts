/**
 * Schema of the Central System keys of ocpp.json (ours): the top-level `authorization` object and
 * the per-chargePoints-entry `registration`, `sessions`, `tariff`, `dataTransferVendors`,
 * `sampledValuesAsText`, and the `type` of a mapping entry. Every key is optional and its default
 * keeps the behaviour of a configuration written before it existed.
 */
import { z } from 'zod';
import { parseIdTokenList } from '../csms/id-tokens.js';
import {
  AUTHORIZATION_STATUSES,
  VALUE_TYPES,
  type AuthorizationConfig,
  type ChargePointCsmsConfig,
  type IdTokenEntry,
  type TariffConfig,
} from './csms-types.js';
import type { KeyRules } from './keys.js';

/** A list in ocpp.json is for a site, not a card database: beyond this use `thingsboard` mode. */
export const MAX_CONFIGURED_ID_TOKENS = 100_000;

/**
 * Not z.record: its output is a plain object, which drops a `__proto__` key (a valid idToken);
 * the list is read straight from the parsed JSON into a Map.
 */
const idTokens = z
  .unknown()
  .optional()
  .transform((raw, ctx) => {
    const { entries, problems } = parseIdTokenList(raw ?? {}, MAX_CONFIGURED_ID_TOKENS);
    for (const message of problems) ctx.issues.push({ code: 'custom', message, input: undefined });
    const out = new Map<string, IdTokenEntry>();
    for (const { token, entry } of entries.values()) out.set(token, entry);
    return problems.length > 0 ? z.NEVER : out;
  });

export const AUTHORIZATION_SHAPE = {
  mode: z.enum(['acceptAll', 'list', 'thingsboard']).default('acceptAll'),
  idTokens,
  unknownStatus: z.enum(AUTHORIZATION_STATUSES).default('Invalid'),
  rpcMethod: z.string().min(1).default('ocppAuthorize'),
  timeoutSeconds: z.number().positive().max(300).default(5),
  whenThingsBoardUnreachable: z.enum(['cache', 'accept', 'reject']).default('cache'),
  idTokenInTelemetry: z.enum(['masked', 'hashed']).default('masked'),
  idTokenHashKey: z.string().min(1).optional(),
  telemetry: z.boolean().default(true),
};

export const authorization = z
  .object(AUTHORIZATION_SHAPE)
  .optional()
  .transform((a): AuthorizationConfig => {
    if (a === undefined) return defaultAuthorization();
    return {
      mode: a.mode,
      idTokens: a.idTokens,
      unknownStatus: a.unknownStatus,
      rpcMethod: a.rpcMethod,
      timeoutMs: Math.round(a.timeoutSeconds * 1000),
      whenThingsBoardUnreachable: a.whenThingsBoardUnreachable,
      idTokenInTelemetry: a.idTokenInTelemetry,
      ...(a.idTokenHashKey === undefined ? {} : { idTokenHashKey: a.idTokenHashKey }),
      telemetry: a.telemetry,
      configured: true,
    };
  });

/** No `authorization` key: every token Accepted, nothing published (the behaviour before it existed). */
export function defaultAuthorization(): AuthorizationConfig {
  return {
    mode: 'acceptAll',
    idTokens: new Map(),
    unknownStatus: 'Invalid',
    rpcMethod: 'ocppAuthorize',
    timeoutMs: 5000,
    whenThingsBoardUnreachable: 'cache',
    idTokenInTelemetry: 'masked',
    telemetry: false,
    configured: false,
  };
}

const price = z.number().min(0).max(1e9);

export const TARIFF_SHAPE = {
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code such as "EUR"'),
  pricePerKWh: price.default(0),
  pricePerMinute: price.default(0),
  pricePerSession: price.default(0),
  costUpdatedInterval: z.number().int().min(0).default(60),
};

/** Also the shape of a device's `ocppTariff` shared attribute. */
export const tariffSchema = z.strictObject(TARIFF_SHAPE).transform((t): TariffConfig => ({
  currency: t.currency,
  pricePerKWh: t.pricePerKWh,
  pricePerMinute: t.pricePerMinute,
  pricePerSession: t.pricePerSession,
  costUpdatedInterval: t.costUpdatedInterval,
}));

// OCPP DataTransfer: vendorId ≤ 255 characters, messageId ≤ 50.
const DATA_TRANSFER_VENDOR_SHAPE = {
  vendorId: z.string().min(1).max(255),
  messageIds: z.array(z.string().min(1).max(50)).min(1).optional(),
};
const dataTransferVendor = z.object(DATA_TRANSFER_VENDOR_SHAPE);

export const CHARGE_POINT_CSMS_SHAPE = {
  registration: z.enum(['Accepted', 'Pending', 'Rejected']).optional(),
  registrationRetryInterval: z.number().int().min(1).default(30),
  sessions: z.boolean().default(false),
  tariff: z.object(TARIFF_SHAPE).optional(),
  dataTransferVendors: z.array(dataTransferVendor).default([]),
  sampledValuesAsText: z.boolean().default(false),
};

type CsmsShapeOutput = z.output<z.ZodObject<typeof CHARGE_POINT_CSMS_SHAPE>>;

export function chargePointCsms(cp: CsmsShapeOutput): ChargePointCsmsConfig {
  return {
    ...(cp.registration === undefined ? {} : { registration: cp.registration }),
    registrationRetryInterval: cp.registrationRetryInterval,
    sessions: cp.sessions,
    ...(cp.tariff === undefined ? {} : { tariff: { ...cp.tariff } }),
    dataTransferVendors: cp.dataTransferVendors.map((v) => ({
      vendorId: v.vendorId,
      ...(v.messageIds === undefined ? {} : { messageIds: v.messageIds }),
    })),
    sampledValuesAsText: cp.sampledValuesAsText,
  };
}

/** The `type` key of an attributes/timeseries entry. */
export const valueType = z.enum(VALUE_TYPES).optional();

export const CSMS_KEY_RULES = {
  authorization: { known: Object.keys(AUTHORIZATION_SHAPE) } satisfies KeyRules,
  chargePointChildren: {
    tariff: { known: Object.keys(TARIFF_SHAPE) },
    dataTransferVendors: { each: { known: Object.keys(DATA_TRANSFER_VENDOR_SHAPE) } },
  },
} as const;
