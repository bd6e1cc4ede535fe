/**
 * Schema validation of OCPP payloads: one Ajv instance per version (two versions' schemas collide
 * on `$id` in one instance), every schema compiled once at start-up, never per message.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { OcppError, type OcppErrorKind } from './errors.js';
import { OCPP_VERSIONS, type OcppVersion, type OcppVersionSpec } from './versions.js';

// ajv-formats is CommonJS that sets both module.exports and exports.default to the plugin;
// under NodeNext the default import is module.exports, so the typed callable is `.default`.
const addFormats = addFormatsModule.default;

const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

/**
 * Failing schema keyword → OCPP-J error kind (after mikuso/ocpp-rpc's table, with `enum` and
 * `format` made explicit: an enum value outside the list is a field with an invalid value).
 */
const KEYWORD_TO_KIND: Record<string, OcppErrorKind> = {
  type: 'TypeConstraintViolation',
  required: 'OccurrenceConstraintViolation',
  maxItems: 'OccurrenceConstraintViolation',
  minItems: 'OccurrenceConstraintViolation',
  maxProperties: 'OccurrenceConstraintViolation',
  minProperties: 'OccurrenceConstraintViolation',
  exclusiveMaximum: 'OccurrenceConstraintViolation',
  exclusiveMinimum: 'OccurrenceConstraintViolation',
  multipleOf: 'OccurrenceConstraintViolation',
  additionalItems: 'OccurrenceConstraintViolation',
  maxLength: 'FormatViolation',
  minLength: 'FormatViolation',
  maximum: 'FormatViolation',
  minimum: 'FormatViolation',
  format: 'FormatViolation',
  pattern: 'PropertyConstraintViolation',
  propertyNames: 'PropertyConstraintViolation',
  additionalProperties: 'PropertyConstraintViolation',
  enum: 'PropertyConstraintViolation',
  const: 'PropertyConstraintViolation',
};

function schemaKey(id: string): string {
  return id.replace(/^urn:/, '');
}

export class PayloadValidator {
  readonly spec: OcppVersionSpec;
  private readonly ajv: Ajv;
  private readonly requests = new Map<string, ValidateFunction | null>();
  private readonly responses = new Map<string, ValidateFunction | null>();
  private readonly sends = new Map<string, ValidateFunction | null>();

  constructor(spec: OcppVersionSpec) {
    this.spec = spec;
    // The official schemas are not written for Ajv's strict mode (enum definitions carry
    // additionalProperties), so strictness is off; validation itself is unchanged.
    const ajv = new Ajv({ strict: false, allErrors: false });
    addFormats(ajv);
    // Decimal steps like multipleOf 0.1 fail on binary floats (0.3 / 0.1 = 2.9999999999999996):
    // compare with a tolerance instead, as OCPP values are decimals on the wire.
    ajv.removeKeyword('multipleOf');
    ajv.addKeyword({
      keyword: 'multipleOf',
      type: 'number',
      schemaType: 'number',
      errors: false,
      compile: (step: number) => (data: number) => {
        const q = data / step;
        return Math.abs(Math.round(q) - q) < 1e-6;
      },
    });
    const schemas = JSON.parse(readFileSync(SCHEMA_DIR + spec.schemaFile, 'utf8')) as { $id: string }[];
    // The official ids ("urn:BootNotification.req") are not valid URNs for Ajv's URI parser, so
    // each schema is registered under its id without the "urn:" prefix; its refs are all local (#/…).
    for (const { $id, ...schema } of schemas) ajv.addSchema(schema, schemaKey($id));
    this.ajv = ajv;
  }

  private compiled(cache: Map<string, ValidateFunction | null>, id: string): ValidateFunction | undefined {
    let v = cache.get(id);
    if (v === undefined) {
      // Compiled on first use and kept: each schema is compiled at most once per process.
      v = this.ajv.getSchema(schemaKey(id)) ?? null;
      cache.set(id, v);
    }
    return v ?? undefined;
  }

  hasRequestSchema(action: string): boolean {
    return this.compiled(this.requests, this.spec.requestSchemaId(action)) !== undefined;
  }

  /** Returns an OcppError describing the first violation, or undefined when the payload is valid. */
  validateRequest(action: string, payload: unknown): OcppError | undefined {
    return check(this.compiled(this.requests, this.spec.requestSchemaId(action)), action, 'request', payload);
  }

  validateResponse(action: string, payload: unknown): OcppError | undefined {
    return check(
      this.compiled(this.responses, this.spec.responseSchemaId(action)),
      action,
      'response',
      payload,
    );
  }

  /** OCPP 2.1 SEND payloads (no response exists). */
  validateSend(action: string, payload: unknown): OcppError | undefined {
    return check(this.compiled(this.sends, this.spec.sendSchemaId(action)), action, 'SEND', payload);
  }
}

function check(
  validate: ValidateFunction | undefined,
  action: string,
  what: string,
  payload: unknown,
): OcppError | undefined {
  if (!validate) return new OcppError('NotImplemented', `no ${what} schema for action "${action}"`);
  if (validate(payload)) return undefined;
  const first = validate.errors?.[0];
  return new OcppError(
    (first && KEYWORD_TO_KIND[first.keyword]) ?? 'FormatViolation',
    `${action} ${what}: ${describe(first)}`,
    first ? { path: first.instancePath || '/', keyword: first.keyword } : {},
  );
}

function describe(e: ErrorObject | undefined): string {
  if (!e) return 'invalid payload';
  const where = e.instancePath || '(payload)';
  if (e.keyword === 'additionalProperties') {
    return `${where} has unknown property "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
  }
  if (e.keyword === 'enum') {
    return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  }
  return `${where} ${e.message ?? 'is invalid'}`;
}

/** Validators are immutable and costly to build: one per version per process, built on first use. */
export class ValidatorSet {
  private readonly byVersion = new Map<OcppVersion, PayloadValidator>();
  get(version: OcppVersion): PayloadValidator {
    let v = this.byVersion.get(version);
    if (!v) {
      v = new PayloadValidator(OCPP_VERSIONS[version]);
      this.byVersion.set(version, v);
    }
    return v;
  }
}
