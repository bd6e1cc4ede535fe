/**
 * Checks of TLS material before it is used: a server certificate and its key (at config load and
 * again before a renewed pair replaces the one in use), and the signing CA. Messages name the
 * problem, never a key or a password.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';

export type PairCheck =
  | { ok: true; keyType: string; certificate: X509Certificate; key: KeyObject }
  | { ok: false; at: 'cert' | 'key'; message: string };

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

/** One certificate and the key that belongs to it. */
export function checkKeyPair(cert: Buffer, key: Buffer, passphrase: string | undefined): PairCheck {
  let certificate: X509Certificate | undefined;
  try {
    certificate = certificatesOf(cert)[0];
  } catch (err) {
    return { ok: false, at: 'cert', message: `not a usable PEM certificate (${opensslReason(err)})` };
  }
  if (certificate === undefined) {
    return { ok: false, at: 'cert', message: 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)' };
  }
  const read = readPrivateKey(key, passphrase);
  if (!read.ok) return { ok: false, at: 'key', message: read.message };
  if (!certificate.checkPrivateKey(read.key)) {
    return { ok: false, at: 'key', message: 'the key does not belong to the certificate' };
  }
  try {
    // What the TLS server will do with it: catches what OpenSSL alone refuses (e.g. a key below
    // its security level).
    createSecureContext({ cert, key, passphrase });
  } catch (err) {
    return { ok: false, at: 'key', message: `OpenSSL refuses the pair (${opensslReason(err)})` };
  }
  return { ok: true, keyType: read.key.asymmetricKeyType ?? 'unknown', certificate, key: read.key };
}

export interface PairProblem {
  at: 'cert' | 'key';
  /** Position in the list (0 for the single-file form). */
  index: number;
  message: string;
}

/**
 * Server certificates paired by position with their keys. OpenSSL holds one certificate per key
 * type and picks the one the client can use (OCPP 2.0.1 A00.FR.318, 1.6 whitepaper A00.FR.317:
 * an RSA and an ECDSA certificate side by side), so two pairs of one type would silently keep
 * only the last.
 */
export function checkServerPairs(
  certs: readonly Buffer[],
  keys: readonly Buffer[],
  passphrase: string | undefined,
): PairProblem[] {
  if (certs.length !== keys.length) {
    return [
      {
        at: 'key',
        index: Math.min(certs.length, keys.length),
        message: `${certs.length} certificate(s) but ${keys.length} key(s): "cert" and "key" are paired by position`,
      },
    ];
  }
  const problems: PairProblem[] = [];
  const typeAt = new Map<string, number>();
  certs.forEach((cert, index) => {
    const check = checkKeyPair(cert, keys[index] ?? Buffer.alloc(0), passphrase);
    if (!check.ok) {
      problems.push({ at: check.at, index, message: check.message });
      return;
    }
    const first = typeAt.get(check.keyType);
    if (first !== undefined) {
      problems.push({
        at: 'cert',
        index,
        message: `a second ${check.keyType.toUpperCase()} certificate (the first is at ${first}): a TLS server serves one per key type`,
      });
      return;
    }
    typeAt.set(check.keyType, index);
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
 * The signing CA: a CA certificate (basicConstraints CA:TRUE) and its key, of a type and size
 * OCPP accepts. `at` names the key of `signingCa` the problem is reported at.
 */
export function checkSigningCa(
  cert: Buffer,
  key: Buffer,
  passphrase: string | undefined,
): { at: 'cert' | 'key' | 'password'; message: string } | undefined {
  let certificate: X509Certificate | undefined;
  try {
    certificate = certificatesOf(cert)[0];
  } catch (err) {
    return { at: 'cert', message: `not a usable PEM certificate (${opensslReason(err)})` };
  }
  if (certificate === undefined) {
    return { at: 'cert', message: 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)' };
  }
  if (!certificate.ca) return { at: 'cert', message: 'is not a CA certificate (basicConstraints CA:TRUE)' };
  const read = readPrivateKey(key, passphrase);
  if (!read.ok)
    return { at: read.message.includes('"password"') ? 'password' : 'key', message: read.message };
  if (!certificate.checkPrivateKey(read.key)) {
    return { at: 'key', message: 'the key does not belong to the certificate' };
  }
  const weak = keyStrengthProblem(read.key);
  return weak === undefined ? undefined : { at: 'key', message: weak };
}
