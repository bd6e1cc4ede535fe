/**
 * Checking and signing CSRs made by `openssl`, as a table of what the signer must refuse.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateSigner, CsrRefused } from '../../src/security/csr.js';
import { makeCa, makeCsr, openssl } from '../helpers/certs.js';
import { TempDir } from '../helpers/gateway-process.js';

describe('CertificateSigner', () => {
  const dir = new TempDir();
  let signer: CertificateSigner;
  let ca: X509Certificate;
  const policy = { commonName: 'CP_1', organization: 'Acme' };

  beforeAll(() => {
    makeCa(dir.path, 'ca');
    ca = new X509Certificate(readFileSync(join(dir.path, 'ca.pem')));
    signer = new CertificateSigner({
      certFile: join(dir.path, 'ca.pem'),
      cert: readFileSync(join(dir.path, 'ca.pem')),
      key: readFileSync(join(dir.path, 'ca.key')),
      validityDays: 30,
    });
  });
  afterAll(() => dir.remove());

  it.each(['ec', 'rsa'] as const)(
    'signs a valid %s CSR: a client certificate of the CA, verified by openssl',
    async (kind) => {
      const { csr } = makeCsr(dir.path, `ok-${kind}`, '/O=Acme/CN=CP_1', kind);
      const signed = await signer.sign(csr, policy);
      const leaf = new X509Certificate(signed.chainPem);
      expect({
        subject: leaf.subject,
        ca: leaf.ca,
        issued: leaf.checkIssued(ca),
        serial: leaf.serialNumber.replace(/^0+/, ''),
      }).toEqual({
        subject: 'O=Acme\nCN=CP_1',
        ca: false,
        issued: true,
        serial: signed.serialNumber,
      });
      writeFileSync(
        join(dir.path, `leaf-${kind}.pem`),
        signed.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/)[0] ?? '',
      );
      const out = execFileSync(
        'openssl',
        ['verify', '-CAfile', 'ca.pem', '-purpose', 'sslclient', `leaf-${kind}.pem`],
        {
          cwd: dir.path,
          encoding: 'utf8',
        },
      );
      expect(out.trim()).toBe(`leaf-${kind}.pem: OK`);
      // A00.FR.512 key usage per key type; 2.0.1 A00.FR.511 no subjectAltName, A00.FR.514 no EKU.
      const extensions = execFileSync(
        'openssl',
        ['x509', '-in', `leaf-${kind}.pem`, '-noout', '-ext', 'keyUsage,basicConstraints'],
        { cwd: dir.path, encoding: 'utf8' },
      );
      expect(extensions.replace(/\s+/g, ' ').trim()).toBe(
        'X509v3 Basic Constraints: critical CA:FALSE X509v3 Key Usage: critical Digital Signature, ' +
          (kind === 'rsa' ? 'Key Encipherment' : 'Key Agreement'),
      );
      expect({ eku: leaf.keyUsage, san: leaf.subjectAltName }).toEqual({ eku: undefined, san: undefined });
    },
  );

  it('accepts the CSR without PEM armour or with escaped line breaks', async () => {
    const { csr } = makeCsr(dir.path, 'bare', '/O=Acme/CN=CP_1');
    const bare = csr.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');
    await expect(signer.sign(bare, policy)).resolves.toMatchObject({ serialNumber: expect.any(String) });
    await expect(signer.sign(csr.replace(/\n/g, '\\n'), policy)).resolves.toMatchObject({
      serialNumber: expect.any(String),
    });
  });

  it.each([
    ['a CN that is not the identity', '/O=Acme/CN=CP_2', 'ec', 'CN must be the charge point identity'],
    ['no CN', '/O=Acme', 'ec', 'CN must be the charge point identity'],
    ['another organization', '/O=Other/CN=CP_1', 'ec', 'organization (O) must be "Acme"'],
    ['no organization', '/CN=CP_1', 'ec', 'organization (O) must be "Acme"'],
  ] as const)('refuses %s', async (_what, subject, kind, reason) => {
    const { csr } = makeCsr(dir.path, 'bad', subject, kind);
    await expect(signer.sign(csr, policy)).rejects.toThrow(new CsrRefused(reason).message);
  });

  it('refuses a weak key, a forged signature and something that is no CSR', async () => {
    openssl(dir.path, [
      'req',
      '-new',
      '-newkey',
      'rsa:1024',
      '-nodes',
      '-keyout',
      'weak.key',
      '-out',
      'weak.csr',
      '-subj',
      '/O=Acme/CN=CP_1',
    ]);
    await expect(signer.sign(readFileSync(join(dir.path, 'weak.csr'), 'utf8'), policy)).rejects.toThrow(
      'at least 2048 bits',
    );
    const { csr } = makeCsr(dir.path, 'forged', '/O=Acme/CN=CP_1');
    const der = Buffer.from(csr.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff; // inside the signature
    await expect(signer.sign(der.toString('base64'), policy)).rejects.toThrow('signature does not verify');
    await expect(signer.sign('no CSR here!', policy)).rejects.toThrow('not PEM');
    await expect(signer.sign('aGVsbG8=', policy)).rejects.toThrow('not a PKCS#10');
  });

  it('takes the organization policy from the CA when none is configured, else accepts any one O', async () => {
    expect(await signer.organizationPolicy()).toBeUndefined();
    const { csr } = makeCsr(dir.path, 'any-o', '/O=Anyone/CN=CP_1');
    await expect(signer.sign(csr, { commonName: 'CP_1', organization: undefined })).resolves.toBeDefined();
  });
});
