/**
 * TLS as OCPP asks of a Central System (2.0.1 A00.FR.318, 1.6 whitepaper A00.FR.317), end to end:
 * one port serves an RSA and an ECDSA certificate side by side, so that a station without ECC
 * (RSA key exchange only, TLS 1.2) and one with ECC both connect; certificate files renewed on
 * disk are picked up without a restart, and a bad renewal keeps the certificates in use.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLeaf, makeTestCertificates, type KeyPair, type TestCertificates } from '../helpers/certs.js';
import { TempDir, type GatewayProcess } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, connectChargePoint, handshakeStatus } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';

interface Peer {
  cert: PeerCertificate;
  cipher: string;
  protocol: string | null;
}

describe('TLS: RSA and ECDSA certificates on one port, renewed without a restart', () => {
  const dir = new TempDir();
  let certs: TestCertificates;
  let renewed: KeyPair;
  let h: Harness;
  let gateway: GatewayProcess;
  let port = 0;

  const peer = (options: ConnectionOptions): Promise<Peer> =>
    new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: certs.ca, ...options }, () => {
        const result = {
          cert: socket.getPeerCertificate(),
          cipher: socket.getCipher().name,
          protocol: socket.getProtocol(),
        };
        socket.end();
        resolve(result);
      });
      socket.once('error', reject);
    });

  beforeAll(async () => {
    certs = makeTestCertificates(dir.path, 'CP_TLS');
    renewed = makeLeaf(dir.path, 'server-ecdsa-2', 'ca', 'localhost', 'ec', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'extendedKeyUsage=serverAuth',
    ]);
    // The files the gateway serves (and watches); the test replaces them as a renewal would.
    copyFileSync(join(dir.path, certs.serverEcdsa.certFile), join(dir.path, 'live-ecdsa.pem'));
    copyFileSync(join(dir.path, certs.serverEcdsa.keyFile), join(dir.path, 'live-ecdsa.key'));
    h = await Harness.start({
      dir,
      connectors: [
        {
          name: 'tls',
          ocpp: {
            centralSystem: {
              port: 0,
              connection: {
                type: 'tls',
                cert: [certs.serverRsa.certFile, 'live-ecdsa.pem'],
                key: [certs.serverRsa.keyFile, 'live-ecdsa.key'],
                certificateCheckInterval: 0.2,
              },
            },
            chargePoints: [{ idRegexpPattern: 'CP_.+', deviceNameExpression: '${ChargePointId}' }],
          },
        },
      ],
    });
    gateway = h.gateway;
    port = Number(new URL(h.urls.tls ?? '').port);
  });

  afterAll(async () => {
    await h?.stop();
  });

  it.each(['AES128-GCM-SHA256', 'AES256-GCM-SHA384'])(
    'an RSA-only TLS 1.2 station (RSA key exchange, %s) gets the RSA certificate and boots',
    async (cipher) => {
      const options = {
        maxVersion: 'TLSv1.2',
        ciphers: cipher,
        sigalgs: 'RSA+SHA256:RSA-PSS+SHA256',
      } as const;
      const p = await peer(options);
      expect({ cipher: p.cipher, protocol: p.protocol, bits: p.cert.bits, curve: p.cert.asn1Curve }).toEqual({
        cipher,
        protocol: 'TLSv1.2',
        bits: 2048,
        curve: undefined,
      });
      const cp = await connectChargePoint({
        url: `wss://127.0.0.1:${port}`,
        identity: 'CP_RSA',
        wsOpts: { ca: certs.ca, ...options },
      });
      expect(await cp.call('BootNotification', aBootNotification())).toMatchObject({ status: 'Accepted' });
      await cp.close();
    },
  );

  it.each(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384'])(
    'an ECDSA TLS 1.2 station (%s) gets the ECDSA certificate and boots',
    async (cipher) => {
      const options = { maxVersion: 'TLSv1.2', ciphers: cipher } as const;
      const p = await peer(options);
      expect({ cipher: p.cipher, curve: p.cert.asn1Curve }).toEqual({ cipher, curve: 'prime256v1' });
      const cp = await connectChargePoint({
        url: `wss://127.0.0.1:${port}`,
        identity: 'CP_ECC',
        protocols: ['ocpp2.0.1'],
        wsOpts: { ca: certs.ca, ...options },
      });
      expect(await cp.call('BootNotification', aBootNotification2())).toMatchObject({ status: 'Accepted' });
      await cp.close();
    },
  );

  it('TLS 1.3 stations get the certificate their signature algorithms can verify', async () => {
    expect((await peer({ sigalgs: 'ecdsa_secp256r1_sha256' })).cert.asn1Curve).toBe('prime256v1');
    expect((await peer({ sigalgs: 'rsa_pss_rsae_sha256' })).cert.bits).toBe(2048);
  });

  it('a station offering only CBC suites is refused at the TLS handshake, and that is logged', async () => {
    const since = gateway.logs.length;
    await expect(
      peer({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA256:ECDHE-RSA-AES128-SHA' }),
    ).rejects.toThrow();
    const logged = await gateway.waitForLog(
      (l) => gateway.logs.indexOf(l) >= since && l.msg === 'connection refused: TLS handshake failed',
    );
    expect(logged.reason).toBe('ERR_SSL_NO_SHARED_CIPHER');
  });

  it('renewed certificate files are served without a restart; a bad renewal keeps the ones in use', async () => {
    const ecdsa = { sigalgs: 'ecdsa_secp256r1_sha256' };
    const fingerprint = async (): Promise<string> => (await peer(ecdsa)).cert.fingerprint256;
    const waitFor = async (expected: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while ((await fingerprint()) !== expected) {
        if (Date.now() > deadline) throw new Error('the renewed certificate was not served');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const original = await fingerprint();
    expect(original).toBe(new X509Certificate(certs.serverEcdsa.cert).fingerprint256);
    dir.write('live-ecdsa.pem', renewed.cert.toString());
    dir.write('live-ecdsa.key', renewed.key.toString());
    const next = new X509Certificate(renewed.cert).fingerprint256;
    await waitFor(next);
    await gateway.waitForLog((l) => l.msg.startsWith('TLS certificates reloaded'));
    expect(
      await handshakeStatus(`wss://127.0.0.1:${port}/CP_X`, ['ocpp1.6'], {}, { ca: certs.ca, ...ecdsa }),
    ).toBe(101);

    // A certificate whose key is not beside it: refused, logged, and the renewed pair stays.
    dir.write('live-ecdsa.pem', certs.serverEcdsa.cert.toString());
    const refused = await gateway.waitForLog((l) =>
      l.msg.startsWith('renewed TLS certificate files are not usable'),
    );
    expect(refused).toMatchObject({
      level: 50,
      connector: 'tls',
      reason: expect.stringContaining('does not match the certificate'),
    });
    expect(await fingerprint()).toBe(next);
  });
});
