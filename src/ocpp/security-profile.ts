/**
 * Which OCPP security profile a connection provides, from its transport alone (1.6 security
 * whitepaper §2.1, OCPP 2.0.1 part 2 §2): 1 = a plain WebSocket, 2 = TLS, 3 = TLS with a client
 * certificate that chains to the configured CA. On a port that requires client certificates, a
 * connection without a valid one is refused here, before any credential is looked at.
 */
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ConnectionConfig } from '../config/types.js';
import type { SecurityProfile } from '../security/state.js';
import { identityOf } from './auth.js';

export type ProfileCheck =
  | { ok: true; securityProfile: SecurityProfile }
  | { ok: false; reason: string; message: string; certificateCn?: string | string[] };

export function securityProfileOf(socket: Duplex, connection: ConnectionConfig, id: string): ProfileCheck {
  const tls = (socket as Partial<TLSSocket>).getPeerCertificate ? (socket as TLSSocket) : undefined;
  if (!tls) return { ok: true, securityProfile: 1 };
  if (connection.type !== 'tls' || !connection.requireClientCertificate) {
    return { ok: true, securityProfile: 2 };
  }
  const cert = tls.getPeerCertificate();
  const presented = Object.keys(cert).length > 0;
  if (!tls.authorized || !presented) {
    return {
      ok: false,
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
      reason: 'certificate CN is not the charge point identity',
      message: 'charge point refused: certificate CN is not its identity',
      ...(cn === undefined ? {} : { certificateCn: cn }),
    };
  }
  return { ok: true, securityProfile: 3 };
}
