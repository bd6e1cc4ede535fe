/**
 * HTTP basic auth for the status server. Both sides are hashed before the constant-time compare,
 * so neither the length nor the content of the password leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REALM = 'tb-ocpp-gateway status';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export class BasicAuth {
  private readonly expected: Buffer;

  constructor(credentials: { username: string; password: string }) {
    this.expected = digest(`${credentials.username}:${credentials.password}`);
  }

  admits(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (typeof header !== 'string') return false;
    const match = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header);
    if (!match?.[1]) return false;
    const given = Buffer.from(match[1], 'base64').toString('utf8');
    return timingSafeEqual(digest(given), this.expected);
  }
}
