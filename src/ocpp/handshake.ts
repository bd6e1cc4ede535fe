/**
 * The vocabulary of a WebSocket handshake at the Central System: what it is counted as, where it
 * comes from, what it established, and how it is refused (a plain HTTP answer on the raw socket,
 * before any WebSocket exists).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SecurityProfile } from '../security/state.js';

/**
 * Each handshake the server answers is counted once, in exactly one of these: accepted, or refused
 * under its one reason (one that gave up while waiting for its admission is not answered, nor
 * counted).
 */
export interface ServerCounters {
  accepted: number;
  rejectedNotFound: number;
  rejectedAuth: number;
  rejectedVersion: number;
  /** TLS handshakes that failed (protocol version, cipher, …) before any charge point id was sent. */
  rejectedTls: number;
  /** Handshakes refused with 503 because too many were waiting for their admission decision. */
  rejectedBusy: number;
  /** Handshakes refused as malformed: an id too long, several Authorization headers. */
  rejectedBadRequest: number;
  /** Exceptions while handling a handshake: answered 500, counted, logged, never fatal. */
  handshakeErrors: number;
  /** The id matched an entry whose `host`/`port` filter refused the remote address (HTTP 404). */
  rejectedAddress: number;
  /** A lower security profile than the station used before (HTTP 401; A05.FR.09). */
  rejectedDowngrade: number;
}

export function newServerCounters(): ServerCounters {
  return {
    accepted: 0,
    rejectedNotFound: 0,
    rejectedAuth: 0,
    rejectedVersion: 0,
    rejectedTls: 0,
    rejectedBusy: 0,
    rejectedBadRequest: 0,
    handshakeErrors: 0,
    rejectedAddress: 0,
    rejectedDowngrade: 0,
  };
}

/** Where a charge point connects from (as the TCP socket sees it: a proxy's address behind one). */
export interface PeerAddress {
  address: string;
  port: number;
}

/** A resolver's answer that the charge point is known but refused, and why (HTTP 404). */
export class HandshakeRefusal {
  constructor(readonly reason: string) {}
}

/** What the handshake established, for the session's owner. */
export interface HandshakeInfo {
  securityProfile: SecurityProfile;
  peer: PeerAddress;
}

/** Charge point id = URL path without surrounding slashes, query dropped, percent-decoded. */
export function chargePointIdFromUrl(url: string | undefined): string | undefined {
  const path = (url ?? '/').split('?', 1)[0] ?? '';
  try {
    return decodeURIComponent(path.replace(/^\/+|\/+$/g, ''));
  } catch {
    return undefined;
  }
}

export function offeredProtocols(req: IncomingMessage): Set<string> {
  const header = req.headers['sec-websocket-protocol'];
  if (!header) return new Set();
  return new Set(
    header
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  );
}

export function refuse(
  socket: Duplex,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const lines = [`HTTP/1.1 ${status} ${text}`, 'Connection: close', 'Content-Length: 0'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(lines.join('\r\n') + '\r\n\r\n');
}
