/**
 * Certificates for TLS tests, made with the `openssl` command into a temporary folder: a CA, a
 * server certificate for 127.0.0.1/localhost in RSA and in ECDSA, client certificates (CN = a
 * charge point identity, a wrong CN, and one issued by another CA). Short-lived and never reused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  /** File names inside the folder (ocpp.json paths are relative to it). */
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export interface TestCertificates {
  caFile: string;
  ca: Buffer;
  serverRsa: KeyPair;
  serverEcdsa: KeyPair;
  /** CN = the identity asked for, issued by the CA. */
  client: KeyPair;
  /** Issued by the CA, CN = something else. */
  clientWrongCn: KeyPair;
  /** CN = the identity asked for, issued by a CA the server does not trust. */
  clientOtherCa: KeyPair;
}

export type KeyKind = 'rsa' | 'ec';

export function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKeyArgs(kind: KeyKind): string[] {
  return kind === 'rsa'
    ? ['-newkey', 'rsa:2048']
    : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
}

/** A self-signed certificate valid for 2 days and its key (unencrypted without `password`), into `dir`. */
function writeSelfSigned(
  dir: string,
  opts: {
    kind: KeyKind;
    keyFile: string;
    certFile: string;
    subject: string;
    extensions: string[];
    password?: string;
  },
): void {
  openssl(dir, [
    'req',
    '-x509',
    ...newKeyArgs(opts.kind),
    ...(opts.password === undefined ? ['-nodes'] : ['-passout', `pass:${opts.password}`]),
    '-keyout',
    opts.keyFile,
    '-out',
    opts.certFile,
    '-days',
    '2',
    '-subj',
    opts.subject,
    ...opts.extensions.flatMap((e) => ['-addext', e]),
  ]);
}

export function makeCa(dir: string, name: string): void {
  writeSelfSigned(dir, {
    kind: 'ec',
    keyFile: `${name}.key`,
    certFile: `${name}.pem`,
    subject: `/CN=${name}`,
    extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
  });
}

export function makeLeaf(
  dir: string,
  name: string,
  ca: string,
  cn: string,
  kind: KeyKind,
  extensions: string[],
): KeyPair {
  const { key } = makeCsr(dir, name, `/CN=${cn}`, kind);
  writeFileSync(join(dir, `${name}.ext`), ['basicConstraints=CA:FALSE', ...extensions].join('\n') + '\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-set_serial',
    String(Date.now()) + String(Math.floor(Math.random() * 1000)),
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
  return {
    certFile: `${name}.pem`,
    keyFile: `${name}.key`,
    cert: readFileSync(join(dir, `${name}.pem`)),
    key,
  };
}

/** Writes every certificate into `dir`; `identity` is the CN of the good client certificate. */
export function makeTestCertificates(dir: string, identity: string): TestCertificates {
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const server = ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth'];
  const client = ['extendedKeyUsage=clientAuth'];
  return {
    caFile: 'ca.pem',
    ca: readFileSync(join(dir, 'ca.pem')),
    serverRsa: makeLeaf(dir, 'server-rsa', 'ca', 'localhost', 'rsa', server),
    serverEcdsa: makeLeaf(dir, 'server-ecdsa', 'ca', 'localhost', 'ec', server),
    client: makeLeaf(dir, 'client', 'ca', identity, 'ec', client),
    clientWrongCn: makeLeaf(dir, 'client-wrong-cn', 'ca', `${identity}-not`, 'ec', client),
    clientOtherCa: makeLeaf(dir, 'client-other-ca', 'other-ca', identity, 'ec', client),
  };
}

/**
 * A self-signed certificate and its key as PEM text, for config tests. `ca` makes it a CA;
 * `password` encrypts the key.
 */
export function selfSignedPair(
  kind: KeyKind,
  opts: { subject?: string; ca?: boolean; password?: string } = {},
): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tb-ocpp-pair-'));
  try {
    writeSelfSigned(dir, {
      kind,
      keyFile: 'k.pem',
      certFile: 'c.pem',
      subject: opts.subject ?? '/CN=localhost',
      extensions: [opts.ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=CA:FALSE'],
      password: opts.password,
    });
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A new key and a PKCS#10 CSR for it, as a charge point makes them (A02.FR.02/03). */
export function makeCsr(
  dir: string,
  name: string,
  subject: string,
  kind: KeyKind = 'ec',
): { csr: string; key: Buffer; keyFile: string } {
  openssl(dir, [
    'req',
    '-new',
    ...newKeyArgs(kind),
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  ]);
  return {
    csr: readFileSync(join(dir, `${name}.csr`), 'utf8'),
    key: readFileSync(join(dir, `${name}.key`)),
    keyFile: `${name}.key`,
  };
}
