/**
 * The ocpp.json schema: the seed document's format (defaults from its tables) plus our extras.
 * Templates and regular expressions are compiled and certificate files read inside the schema, so
 * that one parse reports every problem of the file, each at its own path.
 *
 * Built per file because relative file paths start at that file's folder.
 *
 * This file puts the sections together: connection-schema.ts and security-schema.ts (parts of
 * `centralSystem`), charge-point-schema.ts (`chargePoints`), csms-schema.ts (`authorization`).
 */
import { z } from 'zod';
import { chargePoint, CHARGE_POINT_KEY_RULES } from './charge-point-schema.js';
import { connectionSchema } from './connection-schema.js';
import { authorization, CSMS_KEY_RULES } from './csms-schema.js';
import type { KeyRules } from './keys.js';
import { securitySchema } from './security-schema.js';
import type { OcppVersion } from './types.js';

export type { ParsedSecurityRule } from './security-schema.js';

export const OCPP_VERSIONS = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'] as const satisfies readonly OcppVersion[];

/** Keys the Python connector writes into ocpp.json (its UI and remote configuration) and we ignore. */
const IGNORED_TOP_KEYS = [
  'id',
  'name',
  'reportStrategy',
  'extension',
  'extensionConfig',
  'configVersion',
  'converter',
];

const ocppVersions = z
  .array(z.enum(OCPP_VERSIONS))
  .min(1)
  .default([...OCPP_VERSIONS])
  .superRefine((versions, ctx) => {
    versions.forEach((v, i) => {
      if (versions.indexOf(v) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: `${JSON.stringify(v)} is listed twice`,
          input: v,
        });
      }
    });
  });

/** The schema of one ocpp.json, and the key names it allows (for the unknown-key check). */
export function ocppFileSchema(dir: string) {
  const connection = connectionSchema(dir);
  const security = securitySchema(dir);

  const CENTRAL_SYSTEM_SHAPE = {
    name: z.string().default('Central System'),
    host: z.string().min(1).default('127.0.0.1'),
    // 0 asks the OS for a free port (tests).
    port: z.number().int().min(0).max(65535).default(9000),
    connection: connection.connection,
    security: security.security,
    ocppVersions,
    heartbeatInterval: z.number().int().min(1).default(60),
    pingInterval: z.number().int().min(0).default(30),
    maxMessageSize: z.number().int().min(1024).default(1_048_576),
    compression: z.boolean().default(true),
    announceUnbootedAfter: z.number().int().min(0).default(10),
    // Bounds against hostile or broken peers (ours; README "Security and limits").
    maxJsonDepth: z.number().int().min(8).max(1000).default(64),
    maxSendBufferSize: z.number().int().min(16_384).default(1_048_576),
    sendStallTimeout: z.number().positive().default(30),
    maxQueuedCalls: z.number().int().min(1).max(10_000).default(64),
    maxChargePointIdLength: z.number().int().min(1).max(8192).default(255),
  };
  const OCPP_FILE_SHAPE = {
    centralSystem: z.object(CENTRAL_SYSTEM_SHAPE).prefault({}),
    chargePoints: z.array(chargePoint),
    authorization,
    // Written by the Python gateway and its gateway page; read here for remote logs
    // (gateway-device/remote-logs.ts): this connector's `<name>_LOGS`, at this level.
    logLevel: z.string().optional(),
    enableRemoteLogging: z.boolean().optional(),
  };

  const keys: KeyRules = {
    known: Object.keys(OCPP_FILE_SHAPE),
    ignored: IGNORED_TOP_KEYS,
    children: {
      centralSystem: {
        known: Object.keys(CENTRAL_SYSTEM_SHAPE),
        children: {
          connection: connection.keys,
          security: security.keys,
        },
      },
      authorization: CSMS_KEY_RULES.authorization,
      chargePoints: { each: CHARGE_POINT_KEY_RULES },
    },
  };
  return { schema: z.object(OCPP_FILE_SHAPE), keys };
}
