/**
 * Where the security lifecycle meets the operator's surface, end to end through the built CLI
 * (LOG_LEVEL=trace, every frame logged): its counters reach /api/status, /metrics and the status
 * page from one source, each refused handshake is counted once under its reason, and no password,
 * AuthorizationKey or private key reaches a log line or a frame ring — while the RPC reply that
 * reveals a rotated password carries it to ThingsBoard only.
 *
 *   p1  plain WebSocket + Basic (profile 1), 1.6 and 2.0.1 stations
 *   p2  TLS + Basic (profile 2) with connection.signingCa
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, makeCsr, makeTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { TempDir } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import {
  aBootNotification,
  basicAuth,
  connectChargePoint,
  handshakeStatus,
  type RpcClient,
} from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';

const ORG = 'Acme Charging';
const PASSWORDS = { CP_1: 'cp-1-Secret-4b1d', CP_16: 'cp-16-Secret-77ae' };
const STATUS_AUTH = { username: 'ops', password: 'st4tus-Pass-e2e' };
const STATUS_CREDENTIALS =
  'Basic ' + Buffer.from(`${STATUS_AUTH.username}:${STATUS_AUTH.password}`).toString('base64');
type Id = keyof typeof PASSWORDS;

interface ConnectorStatus {
  name: string;
  handshakes: Record<string, number>;
  security: Record<string, number>;
}

describe('security counters and redaction on the operator surface', () => {
  const dir = new TempDir();
  let certs: TestCertificates;
  let h: Harness;
  let base = '';
  const ports = { p1: 0, p2: 0 };
  const clients: RpcClient[] = [];
  let rpcId = 0;
  /** The password each station has now (rotations change it). */
  const current: Record<Id, string> = { ...PASSWORDS };

  const station = async (port: 'p1' | 'p2', id: Id, protocol: string): Promise<RpcClient> => {
    const cp = await connectChargePoint({
      url: `${port === 'p1' ? 'ws' : 'wss'}://127.0.0.1:${ports[port]}`,
      identity: id,
      protocols: [protocol],
      password: current[id],
      ...(port === 'p2' ? { wsOpts: { ca: certs.ca } } : {}),
    });
    clients.push(cp);
    await cp.call('BootNotification', protocol === 'ocpp1.6' ? aBootNotification() : aBootNotification2());
    return cp;
  };
  async function get(path: string): Promise<string> {
    const res = await fetch(new URL(path, base), { headers: { authorization: STATUS_CREDENTIALS } });
    const text = await res.text();
    expect(res.status, `${path}: ${text}`).toBe(200);
    return text;
  }
  const connectorStatus = async (name: string): Promise<ConnectorStatus> => {
    const status = JSON.parse(await get('api/status')) as { connectors: ConnectorStatus[] };
    const found = status.connectors.find((c) => c.name === name);
    if (!found) throw new Error(`no connector ${name}`);
    return found;
  };
  /** A sample's value in the exposition text; undefined when absent. */
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  /** Everything the gateway wrote, and every frame its status server shows for `id`. */
  const everythingShown = async (id: Id): Promise<string> =>
    h.gateway.stdout +
    h.gateway.stderr +
    (await get(`api/chargepoints/${id}`)) +
    (await get(`chargepoints/${id}`));

  beforeAll(async () => {
    certs = makeTestCertificates(dir.path, 'unused');
    makeCa(dir.path, 'signing-ca');
    const security = [{ type: 'basic', usernameIsChargePointId: true, passwords: PASSWORDS }];
    const chargePoints = [{ idRegexpPattern: 'CP_.+', deviceNameExpression: '${ChargePointId}' }];
    h = await Harness.start({
      dir,
      env: { LOG_LEVEL: 'trace' },
      statusServer: { ...STATUS_AUTH },
      connectors: [
        { name: 'p1', ocpp: { centralSystem: { port: 0, security }, chargePoints } },
        {
          name: 'p2',
          ocpp: {
            centralSystem: {
              port: 0,
              security,
              connection: {
                type: 'tls',
                cert: [certs.serverRsa.certFile, certs.serverEcdsa.certFile],
                key: [certs.serverRsa.keyFile, certs.serverEcdsa.keyFile],
                signingCa: { cert: 'signing-ca.pem', key: 'signing-ca.key', organization: ORG },
              },
            },
            chargePoints,
          },
        },
      ],
    });
    ports.p1 = Number(new URL(h.urls.p1 ?? '').port);
    ports.p2 = Number(new URL(h.urls.p2 ?? '').port);
    base = await h.statusUrl();
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ awaitPending: false, force: true });
    await h?.stop();
  });

  it('counts a refused downgrade once, as a downgrade, in /api/status, /metrics and on the page', async () => {
    const p2 = await station('p2', 'CP_1', 'ocpp2.0.1');
    await h.gateway.waitForLog(
      (l) => l.chargePointId === 'CP_1' && l.securityProfile === 2 && /from now on/.test(l.msg),
    );
    await p2.close();
    const p1 = (id: Id, password: string): Promise<number> =>
      handshakeStatus(`ws://127.0.0.1:${ports.p1}/${id}`, ['ocpp2.0.1'], basicAuth(id, password));
    expect(await p1('CP_1', PASSWORDS.CP_1)).toBe(401);
    expect(await p1('CP_16', 'not-the-password')).toBe(401);

    const s1 = await connectorStatus('p1');
    expect(s1.handshakes).toMatchObject({ rejectedDowngrade: 1, rejectedAuth: 1, accepted: 0 });
    const s2 = await connectorStatus('p2');
    expect(s2.security).toMatchObject({ admittedByConfig: 1, admissionsPending: 0 });
    const metrics = await get('metrics');
    expect(
      [
        'ocpp_gateway_handshakes_total{connector="p1",result="downgrade"}',
        'ocpp_gateway_handshakes_total{connector="p1",result="unauthorized"}',
        'ocpp_gateway_admissions_total{connector="p2",credential="configured"}',
        'ocpp_gateway_admissions_pending{connector="p2"}',
      ].map((series) => sample(metrics, series)),
    ).toEqual([1, 1, 1, 0]);
    const page = await get('');
    expect(page).toContain('p1: security');
    expect(page).toMatch(/<th>rejectedDowngrade<\/th><td>1<\/td>/);
  });

  it('counts signing, security events and a rotation, and shows the certificate but never the password', async () => {
    const cp = await station('p2', 'CP_1', 'ocpp2.0.1');
    let certificateSigned = false;
    cp.handle('CertificateSigned', () => {
      certificateSigned = true;
      return { status: 'Accepted' };
    });
    let written = '';
    cp.handle('SetVariables', ({ params }) => {
      written = String(
        (params as { setVariableData: { attributeValue: string }[] }).setVariableData[0]?.attributeValue,
      );
      return {
        setVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'SecurityCtrlr' },
            variable: { name: 'BasicAuthPassword' },
          },
        ],
      };
    });
    // The frame ring captures from the first request for it on (at debug level, always).
    await get('api/chargepoints/CP_1');
    const csr = makeCsr(dir.path, 'cp-1', `/O=${ORG}/CN=CP_1`);
    expect(await cp.call('SignCertificate', { csr: csr.csr })).toEqual({ status: 'Accepted' });
    await h.tb.waitFor(() => certificateSigned, 10_000, 'CertificateSigned');
    expect(await cp.call('SignCertificate', { csr: 'x', certificateType: 'V2GCertificate' })).toMatchObject({
      status: 'Rejected',
    });
    expect(
      await cp.call('SecurityEventNotification', {
        type: 'SettingSystemTime',
        timestamp: new Date().toISOString(),
      }),
    ).toEqual({});
    const reply = (await h.tb.rpc('CP_1', ++rpcId, 'rotatePassword', { reveal: true })) as {
      result: Record<string, string>;
    };
    expect(reply.result).toEqual({ status: 'Accepted', stored: 'changed', password: written });
    expect(written).toMatch(/^[A-Za-z0-9*\-_=:+|@.]{40}$/);
    current.CP_1 = written;

    const security = (await connectorStatus('p2')).security;
    expect(security).toMatchObject({
      signRequestsAccepted: 1,
      signRequestsRejected: 1,
      certificatesInstalled: 1,
      csrsRejected: 0,
      securityEvents: 1,
      passwordRotations: 1,
      passwordsChanged: 1,
    });
    const metrics = await get('metrics');
    expect(
      [
        'ocpp_gateway_certificate_signing_total{connector="p2",outcome="request_accepted"}',
        'ocpp_gateway_certificate_signing_total{connector="p2",outcome="request_rejected"}',
        'ocpp_gateway_certificate_signing_total{connector="p2",outcome="installed"}',
        'ocpp_gateway_security_events_total{connector="p2"}',
        'ocpp_gateway_password_rotations_total{connector="p2"}',
        'ocpp_gateway_password_changes_total{connector="p2",outcome="changed"}',
      ].map((series) => sample(metrics, series)),
    ).toEqual([1, 1, 1, 1, 1, 1]);

    const shown = await everythingShown('CP_1');
    // The frames are there, the certificate in full (it is public), the password nowhere.
    const detail = JSON.parse(await get('api/chargepoints/CP_1')) as {
      recentFrames: { frame: string }[];
      securityProfile: number;
    };
    // The page says which profile the connection uses.
    expect(detail.securityProfile).toBe(2);
    expect(await get('chargepoints/CP_1')).toContain('security profile 2');
    const frames = detail.recentFrames.map((f) => f.frame);
    expect(frames.some((f) => f.includes('"SetVariables"') && f.includes('"attributeValue":"***"'))).toBe(
      true,
    );
    expect(frames.some((f) => f.includes('"CertificateSigned"') && f.includes('BEGIN CERTIFICATE'))).toBe(
      true,
    );
    expect(
      h.gateway.logs.some((l) => l.msg === 'OCPP frame' && String(l.frame).includes('SetVariables')),
    ).toBe(true);
    expect(shown).not.toContain(written);
    expect(shown).not.toContain('PRIVATE KEY');
    expect(shown).not.toContain(PASSWORDS.CP_1);
  });

  it('1.6: ChangeConfiguration of AuthorizationKey is masked in logged and captured frames', async () => {
    const cp = await station('p1', 'CP_16', 'ocpp1.6');
    let written = '';
    cp.handle('ChangeConfiguration', ({ params }) => {
      written = String((params as { value: string }).value);
      return { status: 'Accepted' };
    });
    await get('api/chargepoints/CP_16');
    const reply = (await h.tb.rpc('CP_16', ++rpcId, 'rotatePassword', { reveal: true })) as {
      result: Record<string, string>;
    };
    expect(reply.result.password).toBe(written);
    const decoded = reply.result.basicAuthPassword ?? '';
    expect(decoded).toMatch(/^[A-Za-z0-9]{20}$/);
    current.CP_16 = written;
    const detail = JSON.parse(await get('api/chargepoints/CP_16')) as { recentFrames: { frame: string }[] };
    expect(
      detail.recentFrames.some(
        (f) => f.frame.includes('"AuthorizationKey"') && f.frame.includes('"value":"***"'),
      ),
    ).toBe(true);
    const shown = await everythingShown('CP_16');
    expect(shown).not.toContain(written);
    expect(shown).not.toContain(decoded);
    expect(shown).not.toContain(PASSWORDS.CP_16);
  });

  it('never sends a private key to a station, whatever an RPC asks', async () => {
    const cp = await station('p2', 'CP_1', 'ocpp2.0.1');
    let installs = 0;
    cp.handle('InstallCertificate', () => {
      installs++;
      return { status: 'Accepted' };
    });
    const ca = readFileSync(join(dir.path, 'signing-ca.pem'), 'utf8');
    const key = readFileSync(join(dir.path, 'signing-ca.key'), 'utf8');
    const reply = (await h.tb.rpc('CP_1', ++rpcId, 'InstallCertificate', {
      certificateType: 'CSMSRootCertificate',
      certificate: ca + key,
    })) as { error?: string };
    expect(reply.error).toMatch(/SecurityError: the payload holds a private key/);
    // The same certificate without the key is sent (so the refusal was the key's, not the call's).
    expect(
      await h.tb.rpc('CP_1', ++rpcId, 'InstallCertificate', {
        certificateType: 'CSMSRootCertificate',
        certificate: ca,
      }),
    ).toEqual({ result: { status: 'Accepted' } });
    expect(installs).toBe(1);
    const keyBody = key.split('\n')[1] ?? '';
    expect(keyBody.length).toBeGreaterThan(20);
    expect(await everythingShown('CP_1')).not.toContain(keyBody);
  });
});
