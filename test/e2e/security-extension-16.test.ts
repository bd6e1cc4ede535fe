/**
 * The OCPP 1.6 security extension (whitepaper edition 3), every message end to end with a strict
 * ocpp-rpc 1.6 station (it validates every frame both ways against the extension's schemas):
 * the four a station sends are answered schema-valid, the seven a Central System sends go out as
 * RPCs from ThingsBoard, valid, and their answers come back; an invalid one gets 1.6's error code.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, makeCsr } from '../helpers/certs.js';
import { TempDir } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, connectChargePoint, RawChargePoint, type RpcClient } from '../helpers/ocpp.js';

const HASH = { hashAlgorithm: 'SHA256', issuerNameHash: 'a1b2', issuerKeyHash: 'c3d4', serialNumber: '1F' };

describe('OCPP 1.6 security extension', () => {
  const dir = new TempDir();
  let h: Harness;
  let cp: RpcClient;
  let rpcId = 0;
  /** What the station received, by action. */
  const received = new Map<string, unknown>();

  beforeAll(async () => {
    makeCa(dir.path, 'signing-ca');
    h = await Harness.start({
      dir,
      connectors: [
        {
          name: 'ext',
          ocpp: {
            centralSystem: {
              port: 0,
              connection: { type: 'insecure', signingCa: { cert: 'signing-ca.pem', key: 'signing-ca.key' } },
            },
            chargePoints: [{ idRegexpPattern: 'CP_.+', deviceNameExpression: '${ChargePointId}' }],
          },
        },
      ],
    });
    cp = await connectChargePoint({ url: h.urls.ext ?? '', identity: 'CP_EXT' });
    const answers: Record<string, unknown> = {
      CertificateSigned: { status: 'Accepted' },
      InstallCertificate: { status: 'Accepted' },
      DeleteCertificate: { status: 'Accepted' },
      GetInstalledCertificateIds: { status: 'Accepted', certificateHashData: [HASH] },
      ExtendedTriggerMessage: { status: 'Accepted' },
      GetLog: { status: 'Accepted', filename: 'security.log' },
      SignedUpdateFirmware: { status: 'Accepted' },
    };
    for (const [action, answer] of Object.entries(answers)) {
      cp.handle(action, ({ params }) => {
        received.set(action, params);
        return answer;
      });
    }
    await cp.call('BootNotification', aBootNotification());
  });

  afterAll(async () => {
    await cp?.close({ awaitPending: false, force: true });
    await h?.stop();
  });

  it.each([
    [
      'SecurityEventNotification',
      { type: 'StartupOfTheDevice', timestamp: '2026-11-23T10:00:00Z', techInfo: 'boot' },
      {},
    ],
    ['LogStatusNotification', { status: 'Uploaded', requestId: 7 }, {}],
    ['SignedFirmwareStatusNotification', { status: 'Installed', requestId: 9 }, {}],
    ['SignCertificate', { csr: 'filled in below' }, { status: 'Accepted' }],
  ])('the station sends %s: answered with a schema-valid response', async (action, payload, expected) => {
    const request =
      action === 'SignCertificate'
        ? { csr: makeCsr(dir.path, 'cp-ext', '/O=Any Org/CN=CP_EXT').csr }
        : payload;
    // ocpp-rpc in strict mode rejects a response its schema does not allow.
    expect(await cp.call(action, request)).toEqual(expected);
  });

  it('CertificateSigned follows an accepted SignCertificate, with a chain from the signing CA', async () => {
    const sent = await h.tb.waitFor(
      () => received.get('CertificateSigned') as { certificateChain: string } | undefined,
    );
    expect(Object.keys(sent)).toEqual(['certificateChain']);
    const leaf = new X509Certificate(sent.certificateChain);
    const ca = new X509Certificate(readFileSync(join(dir.path, 'signing-ca.pem')));
    expect({ subject: leaf.subject, signedByCa: leaf.verify(ca.publicKey) }).toEqual({
      subject: 'O=Any Org\nCN=CP_EXT',
      signedByCa: true,
    });
  });

  it.each([
    ['InstallCertificate', 'installCaCertificate', {}, { certificateType: 'CentralSystemRootCertificate' }],
    ['DeleteCertificate', 'DeleteCertificate', { certificateHashData: HASH }, { certificateHashData: HASH }],
    [
      'GetInstalledCertificateIds',
      'GetInstalledCertificateIds',
      { certificateType: 'CentralSystemRootCertificate' },
      {},
    ],
    [
      'ExtendedTriggerMessage',
      'ExtendedTriggerMessage',
      { requestedMessage: 'SignChargePointCertificate' },
      {},
    ],
    [
      'GetLog',
      'GetLog',
      { logType: 'SecurityLog', requestId: 7, log: { remoteLocation: 'https://logs.example/upload/' } },
      {},
    ],
    [
      'SignedUpdateFirmware',
      'SignedUpdateFirmware',
      {
        requestId: 9,
        firmware: {
          location: 'https://firmware.example/fw-2.1.bin',
          retrieveDateTime: '2026-11-24T02:00:00Z',
          signingCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
          signature: 'c2lnbmF0dXJl',
        },
      },
      {},
    ],
  ])(
    '%s reaches the station from a ThingsBoard RPC (%s) and its answer comes back',
    async (action, method, params, shape) => {
      received.delete(action);
      const reply = (await h.tb.rpc('CP_EXT', ++rpcId, method, params)) as {
        result: Record<string, unknown>;
      };
      expect(reply.result.status).toBe('Accepted');
      expect(received.get(action)).toMatchObject(method === action ? params : shape);
    },
  );

  it('an invalid extension message gets the 1.6 error code, and the socket stays open', async () => {
    const raw = await RawChargePoint.open(`${h.urls.ext}/CP_RAW`, ['ocpp1.6']);
    raw.send(JSON.stringify([2, 'bad-1', 'SecurityEventNotification', { type: 'X' }]));
    raw.send(JSON.stringify([2, 'bad-2', 'SignCertificate', { csr: 'x'.repeat(5501) }]));
    expect((await raw.answerTo('bad-1')).slice(0, 3)).toEqual([4, 'bad-1', 'OccurenceConstraintViolation']);
    expect((await raw.answerTo('bad-2')).slice(0, 3)).toEqual([4, 'bad-2', 'FormationViolation']);
    raw.send(JSON.stringify([2, 'ok-1', 'LogStatusNotification', { status: 'Idle' }]));
    expect(await raw.answerTo('ok-1')).toEqual([3, 'ok-1', {}]);
    await raw.shut();
  });
});
