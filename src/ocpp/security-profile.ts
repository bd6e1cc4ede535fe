/**
 * Which OCPP security profile a connection provides, from its transport alone (1.6 security
 * whitepaper §2.1, OCPP 2.0.1 part 2 §2): 1 = a plain WebSocket, 2 = TLS, 3 = TLS with a client
 * certificate that chains to the configured CA. On a port that requires client certificates, a
 * connection without a valid one is refused here, before any credential is looked at.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ConnectionConfig } from '../config/types.js';
import { OCPP_TLS12_CIPHERS, TLS13_SUITES } from '../security/tls.js';
import type { SecurityProfile } from '../security/state.js';
import { identityOf } from './auth.js';

export type ProfileCheck =
  | { ok: true; securityProfile: SecurityProfile }
  | {
      ok: false;
      /** `tls`: the connection's TLS parameters; `client-certificate`: the credential it presented. */
      kind: 'tls' | 'client-certificate';
      reason: string;
      message: string;
      certificateCn?: string | string[];
    };

const tlsOf = (socket: Duplex): TLSSocket | undefined =>
  (socket as Partial<TLSSocket>).getPeerCertificate ? (socket as TLSSocket) : undefined;

function isLegacyTls(tls: TLSSocket): boolean {
  const protocol = tls.getProtocol();
  return protocol === 'TLSv1' || protocol === 'TLSv1.1';
}

/**
 * The OCPP versions a connection may speak: TLS 1.0/1.1 (`allowLegacyTls`) is for OCPP 1.6 charge
 * points only (1.6 whitepaper A00.FR.312; OCPP 2.0.1/2.1 A00.FR.313: TLS 1.2 or above).
 */
export function servedVersions<V extends string>(socket: Duplex, versions: readonly V[]): readonly V[] {
  const tls = tlsOf(socket);
  return tls && isLegacyTls(tls) ? versions.filter((v) => v === 'ocpp1.6') : versions;
}

/** The suites OpenSSL may pick on TLS 1.2 and 1.3 (security/tls.ts): AEAD only. */
const AEAD_SUITES: ReadonlySet<string> = new Set([...OCPP_TLS12_CIPHERS, ...TLS13_SUITES]);

export function securityProfileOf(socket: Duplex, connection: ConnectionConfig, id: string): ProfileCheck {
  const tls = tlsOf(socket);
  if (!tls) return { ok: true, securityProfile: 1 };
  // With allowLegacyTls the port offers CBC suites for TLS 1.0/1.1 stations (1.6 whitepaper
  // A00.FR.324: "only for TLS v1.0/1.1 connections"); OpenSSL cannot tie a suite to a version, so a
  // TLS 1.2 client that agreed on one is turned away here (A00.FR.319/321; 2.0.1 A00.FR.320/322).
  const cipher = tls.getCipher().name;
  if (!isLegacyTls(tls) && !AEAD_SUITES.has(cipher)) {
    return {
      ok: false,
      kind: 'tls',
      reason: `${tls.getProtocol() ?? 'TLS'} with ${cipher}: a legacy cipher suite is for TLS 1.0/1.1 stations only`,
      message: 'charge point refused: legacy cipher suite on TLS 1.2 or newer',
    };
  }
  if (connection.type !== 'tls' || !connection.requireClientCertificate) {
    return { ok: true, securityProfile: 2 };
  }
  const cert = tls.getPeerCertificate();
  const presented = Object.keys(cert).length > 0;
  if (!tls.authorized || !presented) {
    return {
      ok: false,
      kind: 'client-certificate',
      reason: presented
        ? String(tls.authorizationError ?? 'certificate not trusted')
        : 'no client certificate',
      message: 'charge point refused: no valid client certificate',
    };
  }
  const cn = cert.subject?.CN;
  // The certificate is the charge point's credential, so its CN must be the identity (the last URL
  // segment) when the operator asks for it.
  if (connection.clientCertificateCnMustMatchId && cn !== identityOf(id)) {
    return {
      ok: false,
      kind: 'client-certificate',
      reason: 'certificate CN is not the charge point identity',
      message: 'charge point refused: certificate CN is not its identity',
      ...(cn === undefined ? {} : { certificateCn: cn }),
    };
  }
  // 1.6 whitepaper / 2.0.1 A00.FR.404: the certificate is the operator's (its O names the CPO).
  const organization = connection.clientCertificateOrganization;
  if (organization !== undefined) {
    const o = cert.subject?.O;
    const names = o === undefined ? [] : Array.isArray(o) ? o : [o];
    if (!names.includes(organization)) {
      return {
        ok: false,
        kind: 'client-certificate',
        reason: 'certificate organization (O) is not the operator',
        message: 'charge point refused: certificate is not the operator’s',
        ...(cn === undefined ? {} : { certificateCn: cn }),
      };
    }
  }
  return { ok: true, securityProfile: 3 };
}
