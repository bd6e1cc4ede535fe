/**
 * The Central System's TLS settings as OCPP requires them: TLS 1.2 or newer, and the cipher suites
 * a Central System must offer both to stations with ECC and to stations without it.
 */
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { ConnectionConfig } from '../config/types.js';
import { certificatesOf } from './key-pairs.js';

export type TlsConnection = Extract<ConnectionConfig, { type: 'tls' }>;

/**
 * OCPP 2.0.1 part 2 A00.FR.318/421 and the 1.6 security whitepaper A00.FR.317/421: a Central
 * System SHALL offer TLS_ECDHE_ECDSA_WITH_AES_128/256_GCM (ECC stations, ECDSA certificate) and
 * TLS_RSA_WITH_AES_128/256_GCM (stations without ECC, RSA certificate, RSA key exchange). Node's
 * default list orders but does not guarantee the RSA key-exchange suites (they come in only
 * through "HIGH"), so the list is explicit. ECDHE-RSA is kept so that an RSA certificate still
 * gets forward secrecy with clients that can do it; CBC, SHA-1 and non-AEAD suites are left out
 * (2.0.1 A00.FR.320, 1.6 A00.FR.319: no primitives unsuitable for legacy use). TLS compression
 * is off in OpenSSL 3 (A00.FR.321/320). The server's order wins.
 */
export const OCPP_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
] as const;

/** TLS 1.3 has only AEAD suites; these are OpenSSL's defaults, named so the list is complete. */
export const TLS13_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
];

/**
 * With `allowLegacyTls`, TLS 1.0/1.1 stations get TLS_RSA_WITH_AES_128_CBC_SHA (1.6 whitepaper
 * A00.FR.312/324; only 1.6 stations, and a TLS 1.2 client that picks one of these is refused:
 * ocpp/security-profile.ts). OpenSSL 3's default security level forbids the SHA-1 signatures those
 * versions need, so it is lowered for this port only.
 */
const LEGACY_EXTRA = ['AES128-SHA', 'ECDHE-RSA-AES128-SHA', '@SECLEVEL=0'];

export function cipherList(allowLegacyTls: boolean): string {
  return [...TLS13_SUITES, ...OCPP_TLS12_CIPHERS, ...(allowLegacyTls ? LEGACY_EXTRA : [])].join(':');
}

/** The certificates a TLS port trusts for client certificates (security profile 3). */
function trustedCas(connection: TlsConnection): Buffer[] | undefined {
  const cas: Buffer[] = [];
  if (connection.ca) cas.push(connection.ca);
  // 2.0.1/1.6 A00.FR.403: the client certificate's path is verified against these.
  // A station renews its certificate on the port it uses (A03): the CA that signs it must be
  // trusted there, or the renewed certificate would lock the station out.
  if (connection.signingCa && connection.requireClientCertificate) cas.push(connection.signingCa.cert);
  return cas.length > 0 ? cas : undefined;
}

/** What makes the secure context: replaced as a whole when the certificate files are renewed. */
export function secureContextOptions(
  connection: TlsConnection,
  material: { cert: Buffer[]; key: Buffer[]; ca?: Buffer } = connection,
): SecureContextOptions {
  const ca = trustedCas({ ...connection, ...(material.ca === undefined ? {} : { ca: material.ca }) });
  return {
    // Node takes lists: OpenSSL keeps one certificate per key type and serves the one the
    // client's cipher suites and signature algorithms can use.
    cert: material.cert,
    key: material.key,
    ...(connection.password === undefined ? {} : { passphrase: connection.password }),
    ...(ca === undefined ? {} : { ca }),
    minVersion: connection.allowLegacyTls ? 'TLSv1' : 'TLSv1.2',
    ciphers: cipherList(connection.allowLegacyTls),
    honorCipherOrder: true,
  };
}

export function tlsServerOptions(connection: TlsConnection): TlsOptions {
  return {
    ...secureContextOptions(connection),
    requestCert: connection.requireClientCertificate,
    // The chain is verified here, but a failure is refused at the HTTP upgrade rather than with a
    // TLS alert, so that the refusal is logged with the charge point id and the reason (OCPP
    // security whitepaper: every failed connection attempt is logged).
    rejectUnauthorized: false,
  };
}

/** What a log line may say about a certificate file: subject, key type, expiry, fingerprint. */
export function describeCertificates(pems: readonly Buffer[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const pem of pems) {
    const leaf = certificatesOf(pem)[0];
    if (!leaf) continue;
    out.push({
      subject: leaf.subject.replace(/\n/g, ', '),
      keyType: leaf.publicKey.asymmetricKeyType,
      validTo: leaf.validTo,
      fingerprint256: leaf.fingerprint256,
    });
  }
  return out;
}
