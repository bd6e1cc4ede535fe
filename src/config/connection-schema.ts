/**
 * `centralSystem.connection` of ocpp.json: plain WebSocket or TLS, the certificate files, client
 * certificate rules, and the CA that signs charge point certificates. Certificate files are read
 * and checked inside the schema, so that a problem is reported at the key that names the file.
 *
 * Built per file because relative file paths start at that file's folder.
 */
import { z } from 'zod';
import { checkServerPairs, checkSigningCa } from '../security/key-pairs.js';
import { readConfiguredFile } from './files.js';
import { byType, type ChildRules } from './keys.js';
import { fail, lowerCaseType, rulesOf } from './ocpp-schema-parts.js';
import { checkTlsMaterial, type TlsFile } from './tls.js';
import type { ConnectionConfig, SigningCaConfig } from './types.js';

/** The `connection` schema for an ocpp.json in `dir`, and the key names it allows. */
export function connectionSchema(dir: string) {
  // Certificates keep their file name until checked, so that a problem can name the file.
  const tlsFile = z
    .string()
    .min(1)
    .transform((path, ctx): TlsFile => {
      const read = readConfiguredFile(dir, path);
      return read.ok ? { file: read.file, data: read.data } : fail(ctx.issues, read.message, path);
    });

  /** One file, or (ours) a list of files paired by position; each read relative to ocpp.json. */
  const tlsFiles = z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(4)])
    .transform((value, ctx) => {
      const single = typeof value === 'string';
      const files: TlsFile[] = [];
      (single ? [value] : value).forEach((path, i) => {
        const read = readConfiguredFile(dir, path);
        if (read.ok) files.push({ file: read.file, data: read.data });
        else ctx.addIssue({ code: 'custom', message: read.message, input: path, path: single ? [] : [i] });
      });
      return { single, files };
    });

  const SIGNING_CA_SHAPE = {
    cert: tlsFile,
    key: tlsFile,
    password: z.string().optional(),
    organization: z.string().trim().min(1).max(64).optional(),
    validityDays: z.number().int().min(1).max(3650).default(365),
  };
  const signingCa = z
    .object(SIGNING_CA_SHAPE)
    .superRefine((ca, ctx) => {
      for (const problem of checkSigningCa(ca)) {
        ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message, input: undefined });
      }
    })
    .transform((ca): SigningCaConfig => ({
      certFile: ca.cert.file,
      cert: ca.cert.data,
      key: ca.key.data,
      validityDays: ca.validityDays,
      ...(ca.password === undefined ? {} : { password: ca.password }),
      ...(ca.organization === undefined ? {} : { organization: ca.organization }),
    }));

  const INSECURE_SHAPE = { type: z.literal('insecure'), signingCa: signingCa.optional() };
  const TLS_SHAPE = {
    type: z.literal('tls'),
    cert: tlsFiles,
    key: tlsFiles,
    password: z.string().optional(),
    ca: tlsFile.optional(),
    requireClientCertificate: z.boolean().default(false),
    clientCertificateCnMustMatchId: z.boolean().default(false),
    /** OCPP A00.FR.404: the O a client certificate must name (the operator's). */
    clientCertificateOrganization: z.string().trim().min(1).max(64).optional(),
    allowLegacyTls: z.boolean().default(false),
    /** Seconds between checks of the certificate files for a renewal; 0 = never. */
    certificateCheckInterval: z.number().min(0).max(86_400).default(30),
    signingCa: signingCa.optional(),
  };
  const tlsConnection = z
    .object(TLS_SHAPE)
    .superRefine((tls, ctx) => {
      // Each pair as config/tls.ts checks any TLS material, plus what a list adds (pairing, one
      // certificate per key type).
      for (const p of checkServerPairs(tls.cert.files, tls.key.files, tls.password)) {
        const single = p.field === 'cert' ? tls.cert.single : tls.key.single;
        ctx.addIssue({
          code: 'custom',
          path: p.field === 'password' || single ? [p.field] : [p.field, p.index],
          message: p.message,
          input: undefined,
        });
      }
      if (tls.ca !== undefined) {
        for (const problem of checkTlsMaterial({ ca: tls.ca })) {
          ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message, input: undefined });
        }
      }
      if (tls.clientCertificateCnMustMatchId && !tls.requireClientCertificate) {
        ctx.addIssue({
          code: 'custom',
          path: ['clientCertificateCnMustMatchId'],
          message: 'needs "requireClientCertificate": true',
          input: true,
        });
      }
      if (tls.clientCertificateOrganization !== undefined && !tls.requireClientCertificate) {
        ctx.addIssue({
          code: 'custom',
          path: ['clientCertificateOrganization'],
          message: 'needs "requireClientCertificate": true',
          input: tls.clientCertificateOrganization,
        });
      }
    })
    .transform((tls): ConnectionConfig => {
      const { cert, key, ca, certificateCheckInterval, signingCa: signer, password, ...rest } = tls;
      return {
        ...rest,
        cert: cert.files.map((f) => f.data),
        key: key.files.map((f) => f.data),
        files: {
          cert: cert.files.map((f) => f.file),
          key: key.files.map((f) => f.file),
          ...(ca === undefined ? {} : { ca: ca.file }),
        },
        certificateCheckIntervalMs: Math.round(certificateCheckInterval * 1000),
        ...(password === undefined ? {} : { password }),
        ...(ca === undefined ? {} : { ca: ca.data }),
        ...(signer === undefined ? {} : { signingCa: signer }),
      };
    });
  const connectionUnion = z.discriminatedUnion('type', [
    z
      .object(INSECURE_SHAPE)
      .transform((c): ConnectionConfig =>
        c.signingCa === undefined ? { type: c.type } : { type: c.type, signingCa: c.signingCa },
      ),
    tlsConnection,
  ]);
  const connection = z.preprocess(lowerCaseType, connectionUnion).default({ type: 'insecure' });

  const keys: ChildRules = byType({
    insecure: { ...rulesOf(INSECURE_SHAPE), children: { signingCa: rulesOf(SIGNING_CA_SHAPE) } },
    tls: { ...rulesOf(TLS_SHAPE), children: { signingCa: rulesOf(SIGNING_CA_SHAPE) } },
  });
  return { connection, keys };
}
