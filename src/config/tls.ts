/**
 * TLS material checked at config load, so that `check-config` and start-up say which file is wrong
 * and why (exit 2), instead of start-up dying later with an OpenSSL stack trace. Used for the
 * charge-point side (ocpp.json centralSystem.connection: cert, key, password, ca) and the
 * ThingsBoard side (tb_gateway.json thingsboard.security: caCert, cert, privateKey), and written
 * per certificate/key pair so that a list of pairs can be checked one by one.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';

export interface TlsFile {
  /** Absolute path, for messages. */
  file: string;
  data: Buffer;
}

export interface TlsMaterial {
  cert?: TlsFile;
  key?: TlsFile;
  /** Passphrase of an encrypted key. */
  password?: string;
  ca?: TlsFile;
}

export type TlsField = keyof TlsMaterial;

export interface TlsProblem {
  /** Which input is wrong; the caller maps it to its JSON path. */
  field: TlsField;
  message: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every problem of one certificate/key pair (plus its CA bundle); empty when the pair is usable. */
export function checkTlsMaterial(material: TlsMaterial): TlsProblem[] {
  const problems: TlsProblem[] = [];
  const certs = material.cert ? readCertificates(material.cert, 'certificate', 'cert', problems) : [];
  const key = material.key ? readKey(material.key, material.password, problems) : undefined;
  if (material.ca) readCertificates(material.ca, 'CA certificate', 'ca', problems);
  const leaf = certs[0];
  if (leaf && key && !leaf.checkPrivateKey(key)) {
    problems.push({
      field: 'key',
      message: `the private key in ${show(material.key)} does not match the certificate in ${show(material.cert)}`,
    });
  }
  if (problems.length === 0 && (material.cert || material.key || material.ca)) {
    // What the TLS server or client will do with them; anything the checks above missed.
    try {
      createSecureContext({
        ...(material.cert ? { cert: material.cert.data } : {}),
        ...(material.key ? { key: material.key.data } : {}),
        ...(material.password === undefined ? {} : { passphrase: material.password }),
        ...(material.ca ? { ca: material.ca.data } : {}),
      });
    } catch (err) {
      problems.push({
        field: material.key ? 'key' : 'cert',
        message: `TLS cannot use these files: ${inWords(err)}`,
      });
    }
  }
  return problems;
}

function show(f: TlsFile | undefined): string {
  return JSON.stringify(f?.file ?? '');
}

function readCertificates(
  f: TlsFile,
  what: string,
  field: TlsField,
  problems: TlsProblem[],
): X509Certificate[] {
  const blocks = f.data.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    problems.push({
      field,
      message: `${show(f)} is not a PEM ${what} (no "-----BEGIN CERTIFICATE-----" block)`,
    });
    return [];
  }
  const certs: X509Certificate[] = [];
  blocks.forEach((block, i) => {
    try {
      certs.push(new X509Certificate(block));
    } catch (err) {
      const which = blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : '';
      problems.push({ field, message: `${show(f)}${which} cannot be read as a ${what}: ${inWords(err)}` });
    }
  });
  return certs;
}

function isEncrypted(pem: string): boolean {
  return pem.includes('ENCRYPTED PRIVATE KEY') || /Proc-Type:\s*4,\s*ENCRYPTED/.test(pem);
}

function readKey(f: TlsFile, password: string | undefined, problems: TlsProblem[]): KeyObject | undefined {
  const pem = f.data.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    problems.push({
      field: 'key',
      message: `${show(f)} is not a PEM private key (no "-----BEGIN … PRIVATE KEY-----" block)`,
    });
    return undefined;
  }
  const encrypted = isEncrypted(pem);
  if (encrypted && password === undefined) {
    problems.push({
      field: 'password',
      message: `the private key in ${show(f)} is encrypted and no password is set for it`,
    });
    return undefined;
  }
  try {
    return createPrivateKey({
      key: f.data,
      format: 'pem',
      ...(password === undefined ? {} : { passphrase: password }),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (
      encrypted &&
      (code === 'ERR_OSSL_BAD_DECRYPT' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED')
    ) {
      problems.push({
        field: 'password',
        message: `the password does not decrypt the private key in ${show(f)}`,
      });
    } else {
      problems.push({ field: 'key', message: `${show(f)} cannot be read as a private key: ${inWords(err)}` });
    }
    return undefined;
  }
}

/** OpenSSL's reason without its code and routine names (`error:1E08010C:DECODER routines::unsupported`). */
function inWords(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown };
  if (typeof e.reason === 'string' && e.reason !== '') return e.reason;
  const message = typeof e.message === 'string' ? e.message : String(err);
  return message.replace(/^error:[0-9A-F]+:[^:]*::?/i, '');
}
