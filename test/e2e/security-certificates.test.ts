/**
 * Certificates signed by the Central System and the no-downgrade rule, end to end through the
 * built CLI, with certificates and CSRs made by `openssl` in the test and strict ocpp-rpc stations:
 *
 *   p1  profile 1: plain WebSocket + Basic (username = identity)
 *   p2  profile 2: TLS + Basic, with connection.signingCa (the CA that signs station certificates)
 *   p3  profile 3: TLS + client certificates issued by that CA, CN = identity
 *
 * One charge point id reaches all three ports: the gateway remembers the highest profile it used.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, makeCsr, makeTestCertificates, openssl, type TestCertificates } from '../helpers/certs.js';
import { TempDir, type GatewayProcess } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { basicAuth, connectChargePoint, handshakeStatus, type RpcClient } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

const ORG = 'Acme Charging';
const PASSWORDS = { CP_A: 'cp-A-Secret-51fe', CP_B: 'cp-B-Secret-0c1d', CP_C: 'cp-C-Secret-9e77' };
type Port = 'p1' | 'p2' | 'p3';

describe('certificates signed by the gateway, and no security profile downgrade', () => {
  const dir = new TempDir();
  let certs: TestCertificates;
  let signingCa: Buffer;
  let h: Harness;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  const ports = {} as Record<Port, number>;
  const clients: RpcClient[] = [];
  let rpcId = 0;

  const url = (p: Port): string => `${p === 'p1' ? 'ws' : 'wss'}://127.0.0.1:${ports[p]}`;
  const station = async (
    port: Port,
    identity: keyof typeof PASSWORDS,
    wsOpts: Record<string, unknown> = { ca: certs.ca },
  ): Promise<RpcClient> => {
    const cp = await connectChargePoint({
      url: url(port),
      identity,
      protocols: ['ocpp2.0.1'],
      ...(port === 'p3' ? {} : { password: PASSWORDS[identity] }),
      wsOpts,
    });
    clients.push(cp);
    await cp.call('BootNotification', aBootNotification2());
    return cp;
  };
  const telemetryOf = (device: string, key: string): { ts: number; values: Record<string, unknown> }[] =>
    tb
      .fromGateway('v1/gateway/telemetry')
      .flatMap((m) => (m[device] ?? []) as { ts: number; values: Record<string, unknown> }[])
      .filter((e) => key in e.values);

  beforeAll(async () => {
    certs = makeTestCertificates(dir.path, 'unused');
    makeCa(dir.path, 'signing-ca');
    signingCa = readFileSync(join(dir.path, 'signing-ca.pem'));
    const basic = [{ type: 'basic', usernameIsChargePointId: true, passwords: PASSWORDS }];
    const tls = (extra: Record<string, unknown>) => ({
      type: 'tls',
      cert: [certs.serverRsa.certFile, certs.serverEcdsa.certFile],
      key: [certs.serverRsa.keyFile, certs.serverEcdsa.keyFile],
      ...extra,
    });
    const chargePoints = [{ idRegexpPattern: 'CP_.+', deviceNameExpression: '${ChargePointId}' }];
    const files: Record<Port, Record<string, unknown>> = {
      p1: { centralSystem: { port: 0, connection: { type: 'insecure' }, security: basic }, chargePoints },
      p2: {
        centralSystem: {
          port: 0,
          connection: tls({
            signingCa: { cert: 'signing-ca.pem', key: 'signing-ca.key', organization: ORG },
          }),
          security: basic,
        },
        chargePoints,
      },
      p3: {
        centralSystem: {
          port: 0,
          connection: tls({
            ca: 'signing-ca.pem',
            requireClientCertificate: true,
            clientCertificateCnMustMatchId: true,
            clientCertificateOrganization: ORG,
          }),
        },
        chargePoints,
      },
    };
    h = await Harness.start({
      dir,
      connectors: Object.entries(files).map(([name, ocpp]) => ({ name, ocpp })),
    });
    ({ tb, gateway } = h);
    for (const p of Object.keys(files) as Port[]) ports[p] = Number(new URL(h.urls[p] ?? '').port);
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ awaitPending: false, force: true });
    await h?.stop();
  });

  it('a station that used profile 2 is refused on profile 1 (logged), until the operator resets it', async () => {
    const p1 = (): Promise<number> =>
      handshakeStatus(`${url('p1')}/CP_A`, ['ocpp1.6'], basicAuth('CP_A', PASSWORDS.CP_A));
    expect(await p1()).toBe(101);
    const p2 = await station('p2', 'CP_A');
    await gateway.waitForLog(
      (l) => l.chargePointId === 'CP_A' && l.securityProfile === 2 && /from now on/.test(l.msg),
    );
    expect(await p1()).toBe(401);
    const refusal = await gateway.waitForLog(
      (l) => l.chargePointId === 'CP_A' && l.msg === 'charge point refused: authentication failed',
    );
    expect(refusal).toMatchObject({
      level: 40,
      connector: 'p1',
      reason: 'security profile downgrade: it connected with profile 2 before, now 1',
    });
    await p2.close();
    // The station is offline: the operator's reset still reaches the gateway's record.
    expect(await tb.rpc('CP_A', ++rpcId, 'resetSecurityProfile', {})).toEqual({
      result: { previousProfile: 2 },
    });
    expect(await p1()).toBe(101);
  });

  it('SignCertificate on a connector without a signing CA is Rejected at once, and logged (A02.FR.12)', async () => {
    const p1 = await station('p1', 'CP_A', {});
    const csr = makeCsr(dir.path, 'cp-a', `/O=${ORG}/CN=CP_A`);
    expect(await p1.call('SignCertificate', { csr: csr.csr })).toMatchObject({
      status: 'Rejected',
      statusInfo: { reasonCode: 'NoCA' },
    });
    const logged = await gateway.waitForLog(
      (l) => l.chargePointId === 'CP_A' && l.msg === 'SignCertificate rejected',
    );
    expect(logged).toMatchObject({ connector: 'p1', level: 40 });
    await p1.close();
  });

  it('a CSR is signed, the chain verifies against the CA, and the station reconnects on profile 3 with it', async () => {
    const csr = makeCsr(dir.path, 'cp-b', `/O=${ORG}/CN=CP_B`);
    const p2 = await station('p2', 'CP_B');
    let chain: Record<string, unknown> | undefined;
    p2.handle('CertificateSigned', ({ params }) => {
      chain = params as Record<string, unknown>;
      return { status: 'Accepted' };
    });
    expect(
      await p2.call('SignCertificate', { csr: csr.csr, certificateType: 'ChargingStationCertificate' }),
    ).toEqual({
      status: 'Accepted',
    });
    const signed = await tb.waitFor(() => chain, 10_000, 'CertificateSigned');
    expect(signed.certificateType).toBe('ChargingStationCertificate');
    const pems =
      String(signed.certificateChain).match(
        /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g,
      ) ?? [];
    expect(pems).toHaveLength(2);
    const leaf = new X509Certificate(pems[0] ?? '');
    expect({
      subject: leaf.subject,
      ca: leaf.ca,
      signedByCa: leaf.verify(new X509Certificate(signingCa).publicKey),
    }).toEqual({
      subject: `O=${ORG}\nCN=CP_B`,
      ca: false,
      signedByCa: true,
    });
    dir.write('cp-b-leaf.pem', pems[0] ?? '');
    const verified = execFileSync(
      'openssl',
      ['verify', '-CAfile', 'signing-ca.pem', '-purpose', 'sslclient', 'cp-b-leaf.pem'],
      {
        cwd: dir.path,
        encoding: 'utf8',
      },
    );
    expect(verified.trim()).toBe('cp-b-leaf.pem: OK');
    const telemetry = await tb.waitFor(() => telemetryOf('CP_B', 'certificateSigningStatus')[0]);
    expect(telemetry.values).toEqual({
      certificateSigningStatus: 'Accepted',
      certificateSerialNumber: leaf.serialNumber.replace(/^0+/, ''),
      certificateValidTo: expect.any(String),
    });
    await p2.close();

    const p3 = await station('p3', 'CP_B', { ca: certs.ca, cert: pems[0], key: csr.key });
    await gateway.waitForLog(
      (l) => l.chargePointId === 'CP_B' && l.securityProfile === 3 && /from now on/.test(l.msg),
    );
    await p3.close();
    expect(
      await handshakeStatus(`${url('p2')}/CP_B`, ['ocpp2.0.1'], basicAuth('CP_B', PASSWORDS.CP_B), {
        ca: certs.ca,
      }),
    ).toBe(401);
    // The chain's CA is trusted on p3 because it is its "ca"; a certificate from another CA is not.
    expect(
      await handshakeStatus(
        `${url('p3')}/CP_B`,
        ['ocpp2.0.1'],
        {},
        { ca: certs.ca, cert: certs.client.cert, key: certs.client.key },
      ),
    ).toBe(401);
    // A00.FR.404: one from the same CA whose O is not the operator's is not the station's either.
    const other = makeCsr(dir.path, 'cp-b-other', '/O=Someone Else/CN=CP_B');
    openssl(dir.path, [
      'x509',
      '-req',
      '-in',
      'cp-b-other.csr',
      '-CA',
      'signing-ca.pem',
      '-CAkey',
      'signing-ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      'cp-b-other.pem',
    ]);
    const otherCert = readFileSync(join(dir.path, 'cp-b-other.pem'));
    expect(
      await handshakeStatus(
        `${url('p3')}/CP_B`,
        ['ocpp2.0.1'],
        {},
        { ca: certs.ca, cert: otherCert, key: other.key },
      ),
    ).toBe(401);
    const refused = await gateway.waitForLog(
      (l) => l.chargePointId === 'CP_B' && l.reason === 'certificate organization (O) is not the operator',
    );
    expect(refused).toMatchObject({ connector: 'p3', level: 40, certificateCn: 'CP_B' });
  });

  it('a CSR that breaks the policy is accepted, not signed, and reported to ThingsBoard', async () => {
    const p2 = await station('p2', 'CP_C');
    let signedCalls = 0;
    p2.handle('CertificateSigned', () => {
      signedCalls++;
      return { status: 'Accepted' };
    });
    for (const [name, subject, reason] of [
      ['wrong-cn', `/O=${ORG}/CN=CP_X`, 'CN must be the charge point identity "CP_C"'],
      ['wrong-o', '/O=Someone Else/CN=CP_C', `organization (O) must be "${ORG}"`],
    ] as const) {
      const csr = makeCsr(dir.path, name, subject);
      expect(await p2.call('SignCertificate', { csr: csr.csr })).toEqual({ status: 'Accepted' });
      const reported = await tb.waitFor(() =>
        telemetryOf('CP_C', 'certificateSigningError').find((e) =>
          String(e.values.certificateSigningError).includes(reason),
        ),
      );
      expect(reported.values.certificateSigningStatus).toBe('CsrRejected');
    }
    expect(signedCalls).toBe(0);
    // Types it cannot sign or answer: the spec's failure status at once (schema-checked by the client).
    expect(await p2.call('SignCertificate', { csr: 'x', certificateType: 'V2GCertificate' })).toMatchObject({
      status: 'Rejected',
      statusInfo: { reasonCode: 'UnsupportedCertType' },
    });
    expect(
      await p2.call('Get15118EVCertificate', {
        iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef',
        action: 'Install',
        exiRequest: 'AA==',
      }),
    ).toEqual({ status: 'Failed', exiResponse: '' });
    const hash = { hashAlgorithm: 'SHA256', issuerNameHash: 'aa', issuerKeyHash: 'bb', serialNumber: '1' };
    expect(
      await p2.call('GetCertificateStatus', { ocspRequestData: { ...hash, responderURL: 'http://ocsp' } }),
    ).toEqual({
      status: 'Failed',
    });
    // Each refusal is logged with its reason.
    for (const action of ['Get15118EVCertificate', 'GetCertificateStatus']) {
      await gateway.waitForLog(
        (l) => l.chargePointId === 'CP_C' && l.action === action && /answered Failed/.test(l.msg),
      );
    }
    await gateway.waitForLog(
      (l) =>
        l.chargePointId === 'CP_C' &&
        l.msg === 'SignCertificate rejected' &&
        l.certificateType === 'V2GCertificate',
    );
  });

  it('SecurityEventNotification reaches ThingsBoard as telemetry stamped with the event time', async () => {
    const p2 = await station('p2', 'CP_C');
    const event = { type: 'FirmwareUpdated', timestamp: '2026-11-23T10:00:00.000Z', techInfo: 'v2.1.0' };
    expect(await p2.call('SecurityEventNotification', event)).toEqual({});
    const telemetry = await tb.waitFor(() => telemetryOf('CP_C', 'securityEventType')[0]);
    expect(telemetry).toEqual({
      ts: Date.parse(event.timestamp),
      values: { securityEventType: 'FirmwareUpdated', securityEventTechInfo: 'v2.1.0' },
    });
  });

  it('installCaCertificate sends the signing CA to the station with InstallCertificate', async () => {
    const p2 = await station('p2', 'CP_C');
    let installed: Record<string, unknown> | undefined;
    p2.handle('InstallCertificate', ({ params }) => {
      installed = params as Record<string, unknown>;
      return { status: 'Accepted' };
    });
    const ca = new X509Certificate(signingCa);
    expect(await tb.rpc('CP_C', ++rpcId, 'installCaCertificate', {})).toEqual({
      result: {
        status: 'Accepted',
        certificateType: 'CSMSRootCertificate',
        subject: 'CN=signing-ca',
        fingerprint256: ca.fingerprint256,
      },
    });
    expect(installed?.certificateType).toBe('CSMSRootCertificate');
    expect(new X509Certificate(String(installed?.certificate)).fingerprint256).toBe(ca.fingerprint256);
  });
});
