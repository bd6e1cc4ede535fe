/**
 * The `chargePoints` entries of ocpp.json: which charge points an entry claims (idRegexpPattern,
 * host, port), how their devices are named, and the mappings between OCPP messages and
 * ThingsBoard attributes, time series, attribute updates and RPCs. Defaults are the seed
 * document's.
 */
import { z } from 'zod';
import { TemplateSyntaxError } from '../errors.js';
import { compileTemplate } from '../expressions/template.js';
import type { TemplateMode } from '../expressions/types.js';
import { addressPattern } from './address-patterns.js';
import { chargePointCsms, CHARGE_POINT_CSMS_SHAPE, CSMS_KEY_RULES, valueType } from './csms-schema.js';
import type { KeyRules } from './keys.js';
import { compileLinearPattern } from './linear-regexp.js';
import { fail, rulesOf } from './ocpp-schema-parts.js';
import type { AttributeUpdateMapping, ChargePointConfig, DatapointMapping, RpcMapping } from './types.js';

/** Keys the Python connector writes into a chargePoints entry and we ignore. */
const IGNORED_CHARGE_POINT_KEYS = ['reportStrategy', 'extension', 'extensionConfig'];

function template(mode: TemplateMode, fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((source, ctx) => {
      try {
        return compileTemplate(source, mode);
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        return fail(ctx.issues, `invalid template: ${error.message}`, source);
      }
    });
}

/** Comma-separated OCPP actions. Unlike the Python connector, items are trimmed. */
const messageTypeFilter = z
  .string()
  .default('MeterValues,')
  .transform((filter, ctx) => {
    const types = filter
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    if (types.length > 0) return types;
    return fail(
      ctx.issues,
      'names no message type: list OCPP actions separated by commas, e.g. "MeterValues,"',
      filter,
    );
  });

/**
 * Anchored at both ends, unlike Python's re.match (start only), so that `CP_1` does not also
 * claim `CP_10`; matched in linear time (see linear-regexp.ts), because ids are attacker-chosen.
 */
const idRegexpPattern = z
  .string()
  .min(1)
  .default('charge_points/CP_1')
  .transform((pattern, ctx) => {
    const compiled = compileLinearPattern(pattern);
    if (compiled.ok) return { pattern, regexp: compiled.regexp };
    return fail(ctx.issues, compiled.reason, pattern);
  });

const DATAPOINT_SHAPE = {
  messageTypeFilter,
  key: template('text', 'temp'),
  value: template('text', '${meter_value[:].sampled_value[:].value}'),
  type: valueType,
};
const datapoint = z.object(DATAPOINT_SHAPE).transform((d): DatapointMapping => ({
  messageTypes: d.messageTypeFilter,
  key: d.key,
  value: d.value,
  ...(d.type === undefined ? {} : { type: d.type }),
}));

// OCPP 1.6 and 2.x DataTransfer: vendorId ≤ 255 characters, messageId ≤ 50.
const DOWNLINK_SHAPE = {
  action: z.string().trim().min(1).optional(),
  vendorId: z.string().min(1).max(255).default('ThingsBoard'),
  messageId: z.string().min(1).max(50).optional(),
};

const ATTRIBUTE_UPDATE_SHAPE = {
  attributeOnThingsBoard: z.string().min(1).default('sharedName'),
  valueExpression: template('json', '{"${attributeKey}":"${attributeValue}"}'),
  ...DOWNLINK_SHAPE,
};
const attributeUpdate = z.object(ATTRIBUTE_UPDATE_SHAPE).transform((u): AttributeUpdateMapping => ({
  attributeOnThingsBoard: u.attributeOnThingsBoard,
  valueExpression: u.valueExpression,
  vendorId: u.vendorId,
  ...(u.action === undefined ? {} : { action: u.action }),
  ...(u.messageId === undefined ? {} : { messageId: u.messageId }),
}));

const SERVER_SIDE_RPC_SHAPE = {
  methodRPC: z.string().min(1).default('rpcMethod1'),
  withResponse: z.boolean().default(true),
  valueExpression: template('json', '${params}'),
  ...DOWNLINK_SHAPE,
  /** Seconds to wait for the charge point's answer. */
  timeout: z.number().positive().default(30),
};
const serverSideRpc = z.object(SERVER_SIDE_RPC_SHAPE).transform((r): RpcMapping => ({
  methodRPC: r.methodRPC,
  withResponse: r.withResponse,
  valueExpression: r.valueExpression,
  vendorId: r.vendorId,
  timeoutMs: Math.round(r.timeout * 1000),
  ...(r.action === undefined ? {} : { action: r.action }),
  ...(r.messageId === undefined ? {} : { messageId: r.messageId }),
}));

const CHARGE_POINT_SHAPE = {
  idRegexpPattern,
  host: addressPattern,
  port: addressPattern,
  deviceNameExpression: template('text', '${Vendor} ${Model}'),
  deviceTypeExpression: template('text', '${Model}'),
  attributes: z.array(datapoint).default([]),
  timeseries: z.array(datapoint).default([]),
  attributeUpdates: z.array(attributeUpdate).default([]),
  serverSideRpc: z.array(serverSideRpc).default([]),
  ...CHARGE_POINT_CSMS_SHAPE,
};
export const chargePoint = z.object(CHARGE_POINT_SHAPE).transform((cp): ChargePointConfig => ({
  idRegexpPattern: cp.idRegexpPattern.pattern,
  idRegexp: cp.idRegexpPattern.regexp,
  ...(cp.host === undefined ? {} : { host: cp.host }),
  ...(cp.port === undefined ? {} : { port: cp.port }),
  deviceNameExpression: cp.deviceNameExpression,
  deviceTypeExpression: cp.deviceTypeExpression,
  attributes: cp.attributes,
  timeseries: cp.timeseries,
  attributeUpdates: cp.attributeUpdates,
  serverSideRpc: cp.serverSideRpc,
  ...chargePointCsms(cp),
}));

/** The key names a chargePoints entry allows (for the unknown-key check). */
export const CHARGE_POINT_KEY_RULES: KeyRules = {
  known: Object.keys(CHARGE_POINT_SHAPE),
  ignored: IGNORED_CHARGE_POINT_KEYS,
  children: {
    attributes: { each: rulesOf(DATAPOINT_SHAPE) },
    timeseries: { each: rulesOf(DATAPOINT_SHAPE) },
    attributeUpdates: { each: rulesOf(ATTRIBUTE_UPDATE_SHAPE) },
    serverSideRpc: { each: rulesOf(SERVER_SIDE_RPC_SHAPE) },
    ...CSMS_KEY_RULES.chargePointChildren,
  },
};
