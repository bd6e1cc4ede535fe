/**
 * What TLS material needs beyond config/tls.ts's check of one certificate/key pair: server
 * certificates as lists paired by position (at config load and again before a renewed list
 * replaces the one in use), and the signing CA. Messages name the problem, never a key or a
 * password.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { checkTlsMaterial, type TlsFile, type TlsProblem } from '../config/tls.js';

/** The certificates of a PEM file, in file order (an empty list when there are none). */
export function certificatesOf(pem: Buffer | string): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const out: X509Certificate[] = [];
  for (const block of blocks) out.push(new X509Certificate(block));
  return out;
}

function opensslReason(err: unknown): string {
  const e = err as { code?: string; message?: string; reason?: string };
  return e.reason ?? e.code ?? e.message ?? String(err);
}

/** A private key (the signing CA's, when it signs). */
export function readPrivateKey(
  key: Buffer,
  passphrase: string | undefined,
): { ok: true; key: KeyObject } | { ok: false; message: string } {
  try {
    return { ok: true, key: createPrivateKey({ key, passphrase }) };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    // Without a passphrase OpenSSL 3 reports an encrypted key as "interrupted or cancelled" (the
    // prompt it could not show); a wrong one as a decrypt failure.
    if (passphrase === undefined && /ENCRYPTED/.test(key.toString('latin1', 0, 200))) {
      return { ok: false, message: 'the key is encrypted: set "password"' };
    }
    if (/BAD_DECRYPT|bad decrypt/i.test(code + opensslReason(err))) {
      return { ok: false, message: 'cannot decrypt the key: wrong "password"' };
    }
    return { ok: false, message: `not a usable private key (${opensslReason(err)})` };
  }
}

export interface PairProblem {
  /** Which input is wrong (`password`: the one of every key of the list); the message names the file. */
  field: 'cert' | 'key' | 'password';
  /** Position in the list (0 for the single-file form). */
  index: number;
  message: string;
}

/**
 * Server certificates paired by position with their keys, each pair checked by checkTlsMaterial
 * (config/tls.ts, the one check of "a usable certificate and its key"). What a list adds: as many
 * keys as certificates, and one pair per key type — OpenSSL holds one certificate per key type and
 * picks the one the client can use (OCPP 2.0.1 A00.FR.318, 1.6 whitepaper A00.FR.317: an RSA and
 * an ECDSA certificate side by side), so two pairs of one type would silently keep only the last.
 */
export function checkServerPairs(
  certs: readonly TlsFile[],
  keys: readonly TlsFile[],
  password: string | undefined,
): PairProblem[] {
  if (certs.length !== keys.length) {
    return [
      {
        field: 'key',
        index: Math.min(certs.length, keys.length),
        message: `${certs.length} certificate(s) but ${keys.length} key(s): "cert" and "key" are paired by position`,
      },
    ];
  }
  const problems: PairProblem[] = [];
  const typeAt = new Map<string, number>();
  certs.forEach((cert, index) => {
    const key = keys[index];
    const found = checkTlsMaterial({
      cert,
      ...(key ? { key } : {}),
      ...(password === undefined ? {} : { password }),
    });
    if (found.length > 0) {
      for (const p of found)
        problems.push({ field: p.field === 'ca' ? 'cert' : p.field, index, message: p.message });
      return;
    }
    // The pair is usable, so the file holds a readable certificate.
    const keyType = certificatesOf(cert.data)[0]?.publicKey.asymmetricKeyType ?? 'unknown';
    const first = typeAt.get(keyType);
    if (first !== undefined) {
      problems.push({
        field: 'cert',
        index,
        message: `a second ${keyType.toUpperCase()} certificate, ${JSON.stringify(cert.file)} (the first is at ${first}): a TLS server serves one per key type`,
      });
      return;
    }
    typeAt.set(keyType, index);
  });
  return problems;
}

/** Key sizes OCPP accepts for certificates (1.6 whitepaper / 2.0.1 A00.FR.502, A00.FR.503). */
export function keyStrengthProblem(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    return (details.modulusLength ?? 0) >= 2048 ? undefined : 'an RSA key must be at least 2048 bits';
  }
  if (type === 'ec') {
    const curve = details.namedCurve ?? '';
    return ['prime256v1', 'secp384r1', 'secp521r1'].includes(curve)
      ? undefined
      : `elliptic curve ${curve || '(unnamed)'} is not supported (P-256, P-384 or P-521)`;
  }
  return `${type ?? 'this'} keys are not supported (RSA or EC)`;
}

/**
 * The signing CA: a usable certificate and key (checkTlsMaterial), the certificate a CA
 * (basicConstraints CA:TRUE), the key of a type and size OCPP accepts.
 */
export function checkSigningCa(material: {
  cert: TlsFile;
  key: TlsFile;
  password?: string | undefined;
}): TlsProblem[] {
  const problems = checkTlsMaterial({
    cert: material.cert,
    key: material.key,
    ...(material.password === undefined ? {} : { password: material.password }),
  });
  if (problems.length > 0) return problems;
  const certificate = certificatesOf(material.cert.data)[0];
  if (certificate === undefined || !certificate.ca) {
    return [{ field: 'cert', message: 'is not a CA certificate (basicConstraints CA:TRUE)' }];
  }
  const weak = keyStrengthProblem(certificate.publicKey);
  return weak === undefined ? [] : [{ field: 'key', message: weak }];
}
