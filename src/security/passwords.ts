/**
 * Charge point passwords (HTTP Basic, security profiles 1 and 2): how they are stored (salted
 * hashes, never in clear: 1.6 whitepaper / 2.0.1 A01.FR.08), checked, and generated.
 *
 * Two kinds of verifier, chosen by where the password came from:
 * - a password the gateway generated (`rotatePassword`, A01.FR.07: ≥ 119 bits from a CSPRNG):
 *   salted HMAC-SHA256. No guessing attack on a stolen store gets anywhere near 2^119 tries, so a
 *   slow KDF would add nothing but cost at every handshake (a reconnect storm after a gateway
 *   restart is thousands of handshakes at once; see docs/performance.md, "storm-rotated").
 * - a password someone chose (ThingsBoard's SetVariables / ChangeConfiguration): its entropy is
 *   unknown (OCPP asks 16–40 characters, A00.FR.205/304, nothing more), so salted scrypt.
 */
import { createHmac, randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import type { OcppVersion } from '../config/types.js';

/**
 * scrypt's cost: 16 MiB and 25–75 ms of one core per hash here (more under load), paid for a
 * station's first handshake after the gateway started (later ones hit VerifiedLogins). The
 * parameters are stored in each verifier, so they can be raised later without invalidating what
 * is stored.
 */
const COST = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
/** Verifiers with a larger cost than this are refused rather than computed (a forged record). */
const MAX_N = 1 << 20;

function derive(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$<salt base64>$<key base64>`, with a new random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST.N, COST.r, COST.p);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), key.toString('base64')].join('$');
}

const FAST_SCHEME = 'hmac-sha256';

/**
 * `hmac-sha256$<salt base64>$<HMAC-SHA256(salt, password) base64>`: only for passwords the gateway
 * generated itself (see the file's comment); a microsecond to compute.
 */
export function hashGeneratedPassword(password: string): string {
  const salt = randomBytes(16);
  const mac = createHmac('sha256', salt).update(password, 'utf8').digest();
  return [FAST_SCHEME, salt.toString('base64'), mac.toString('base64')].join('$');
}

/** True when checking `verifier` runs the slow KDF (it then goes through a KdfGate). */
export function isKdfVerifier(verifier: string): boolean {
  return verifier.startsWith('scrypt$');
}

function verifyFast(password: string, salt: string, mac: string): boolean {
  const expected = Buffer.from(mac, 'base64');
  if (expected.length !== KEY_LENGTH) return false;
  const actual = createHmac('sha256', Buffer.from(salt, 'base64')).update(password, 'utf8').digest();
  return timingSafeEqual(actual, expected);
}

export async function verifyPassword(password: string, verifier: string): Promise<boolean> {
  if (verifier.startsWith(`${FAST_SCHEME}$`)) {
    const [, salt, mac, extra] = verifier.split('$');
    return salt !== undefined && mac !== undefined && extra === undefined && verifyFast(password, salt, mac);
  }
  const [scheme, n, r, p, salt, key] = verifier.split('$');
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (scheme !== 'scrypt' || salt === undefined || key === undefined) return false;
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return false;
  if (!Number.isInteger(R) || R < 1 || R > 32 || !Number.isInteger(P) || P < 1 || P > 16) return false;
  const expected = Buffer.from(key, 'base64');
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await derive(password, Buffer.from(salt, 'base64'), N, R, P);
  return timingSafeEqual(actual, expected);
}

/** True when `password` matches any of `verifiers`; every verifier is computed (no early exit). */
export async function verifyAny(password: string, verifiers: readonly string[]): Promise<boolean> {
  const results = await Promise.all(verifiers.map((v) => verifyPassword(password, v)));
  return results.includes(true);
}

/** OCPP 2.0.1 part 2, passwordString: letters, digits and `*-_=:+|@.`, 16–40 characters. */
const PASSWORD_STRING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-_=:+|@.';
const ALPHANUMERIC = PASSWORD_STRING.slice(0, 62);

function randomText(alphabet: string, length: number): string {
  let out = '';
  // randomInt draws without modulo bias.
  for (let i = 0; i < length; i++) out += alphabet.charAt(randomInt(alphabet.length));
  return out;
}

export interface GeneratedPassword {
  /** What is written to the station (BasicAuthPassword / AuthorizationKey). */
  value: string;
  /** What the station may then present in the Basic header (see passwordForms). */
  forms: string[];
}

/**
 * A new random password within the limits of the version:
 * - 2.0.1/2.1 `SecurityCtrlr.BasicAuthPassword` (passwordString): 40 characters of the allowed set.
 * - 1.6 `AuthorizationKey` (whitepaper A00.FR.205/304): 16–20 bytes written as up to 40 hex
 *   digits. The key is 20 random letters and digits, hex-encoded: a station that decodes the hex
 *   (as the OCA test tool expects) and one that uses the 40 digits verbatim both get a password
 *   of ~119 bits that fits a Basic header.
 */
export function generatePassword(version: OcppVersion): GeneratedPassword {
  if (version === 'ocpp1.6') {
    const text = randomText(ALPHANUMERIC, 20);
    const value = Buffer.from(text, 'utf8').toString('hex').toUpperCase();
    return { value, forms: [value, text] };
  }
  const value = randomText(PASSWORD_STRING, 40);
  return { value, forms: [value] };
}

/**
 * The passwords a station may present once `value` was written to it. In 2.x the value is the
 * password. In 1.6 the whitepaper describes AuthorizationKey as hex-represented bytes: stations
 * differ on whether they decode it, so a value of 32–40 hex digits that decodes to printable text
 * admits both forms (they are one secret: either gives the other).
 */
export function passwordForms(version: OcppVersion, value: string): string[] {
  if (version !== 'ocpp1.6' || !/^(?:[0-9a-fA-F]{2}){16,20}$/.test(value)) return [value];
  const decoded = Buffer.from(value, 'hex').toString('utf8');
  return /^[\x21-\x7e]+$/.test(decoded) && decoded.length >= 16 ? [value, decoded] : [value];
}
