/**
 * Logs uploaded by stations to the gateway itself (statusServer.uploads), end to end through the
 * built CLI: a GetLog (2.0.1) / GetDiagnostics (1.6) RPC without a location gets an upload URL of
 * the gateway's, the strict ocpp-rpc station uploads to it without the operator's login, the file
 * lands under that station's folder, and ThingsBoard gets telemetry of the station's device.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';

const AUTH = { username: 'ops', password: 'st4tus-Pass-upl' };
const CREDENTIALS = 'Basic ' + Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64');
const MAX_BYTES = 4096;

interface Telemetry {
  ts: number;
  values: Record<string, unknown>;
}

describe('log uploads to the gateway', () => {
  let h: Harness;
  let base = '';
  let rpcId = 0;
  const clients: RpcClient[] = [];

  const station = async (id: string, protocol: 'ocpp1.6' | 'ocpp2.0.1'): Promise<RpcClient> => {
    const cp = await connectChargePoint({ url: h.urls.site ?? '', identity: id, protocols: [protocol] });
    clients.push(cp);
    await cp.call('BootNotification', protocol === 'ocpp1.6' ? aBootNotification() : aBootNotification2());
    return cp;
  };
  /** What a station does with the URL it was given: no credentials, just the body. */
  const upload = async (url: string, body: string, method = 'PUT'): Promise<number> =>
    (await fetch(url, { method, body })).status;
  const uploadsOf = (device: string): Telemetry[] =>
    h.tb
      .fromGateway('v1/gateway/telemetry')
      .flatMap((m) => (m[device] ?? []) as Telemetry[])
      .filter((e) => 'logUploadFile' in e.values);
  const statusJson = async (path: string): Promise<Record<string, unknown>> => {
    const res = await fetch(new URL(path, base), { headers: { authorization: CREDENTIALS } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    h = await Harness.start({
      statusServer: { ...AUTH, uploads: { folder: 'station-logs', maxBytes: MAX_BYTES, urlValidity: 600 } },
      connectors: [
        {
          name: 'site',
          ocpp: {
            centralSystem: { port: 0 },
            chargePoints: [{ idRegexpPattern: 'CP_.+', deviceNameExpression: 'EV ${ChargePointId}' }],
          },
        },
      ],
    });
    base = await h.statusUrl();
  });

  afterAll(async () => {
    for (const cp of clients) await cp.close({ awaitPending: false, force: true });
    await h?.stop();
  });

  it('2.0.1: GetLog without a remoteLocation gets an upload URL; the station uploads; ThingsBoard hears of it', async () => {
    const cp = await station('CP_201', 'ocpp2.0.1');
    let location = '';
    cp.handle('GetLog', ({ params }) => {
      location = String((params as { log: { remoteLocation: string } }).log.remoteLocation);
      return { status: 'Accepted', filename: 'security.log' };
    });
    const reply = await h.tb.rpc('EV CP_201', ++rpcId, 'GetLog', {
      logType: 'SecurityLog',
      requestId: 7,
      log: {},
    });
    expect(reply).toEqual({ result: { status: 'Accepted', filename: 'security.log' } });
    expect(location).toMatch(new RegExp(`^${base}uploads/[A-Za-z0-9_-]{22}/$`));

    // The station appends its file name, as stations do with a folder URL; no operator login.
    expect(await upload(`${location}security.log`, 'line 1\nline 2\n')).toBe(201);
    const stored = join(h.dir.path, 'station-logs', 'CP_201', 'security.log');
    expect(readFileSync(stored, 'utf8')).toBe('line 1\nline 2\n');
    const telemetry = await h.tb.waitFor(() => uploadsOf('EV CP_201')[0], 5000, 'upload telemetry');
    expect(telemetry.values).toEqual({
      logUploadFile: 'CP_201/security.log',
      logUploadBytes: 14,
      logUploadRequestId: 7,
    });

    // The token is a credential: the frame the gateway logged and captured shows it masked.
    const token = location.slice(`${base}uploads/`.length, -1);
    expect(h.gateway.stdout).not.toContain(token);
    const detail = await statusJson('api/chargepoints/CP_201');
    expect(JSON.stringify(detail)).toContain('/uploads/***/');
    expect(JSON.stringify(detail)).not.toContain(token);
  });

  it('1.6: GetDiagnostics without a location; the station posts to the URL as given', async () => {
    const cp = await station('CP_16', 'ocpp1.6');
    let location = '';
    cp.handle('GetDiagnostics', ({ params }) => {
      location = String((params as { location: string }).location);
      return { fileName: 'diagnostics.zip' };
    });
    expect(await h.tb.rpc('EV CP_16', ++rpcId, 'GetDiagnostics', {})).toEqual({
      result: { fileName: 'diagnostics.zip' },
    });
    expect(await upload(location, 'PK\u0003\u0004zip-bytes', 'POST')).toBe(201);
    const telemetry = await h.tb.waitFor(() => uploadsOf('EV CP_16')[0], 5000, 'upload telemetry');
    // Named by the gateway when the station names nothing.
    expect(telemetry.values.logUploadFile).toMatch(/^CP_16\/GetDiagnostics-x-\d{8}T\d{6}Z$/);
    expect(telemetry.values).not.toHaveProperty('logUploadRequestId');
    expect(readdirSync(join(h.dir.path, 'station-logs', 'CP_16'))).toHaveLength(1);
  });

  it('a location the operator gives is sent as it is', async () => {
    const cp = await station('CP_OWN', 'ocpp2.0.1');
    let location = '';
    cp.handle('GetLog', ({ params }) => {
      location = String((params as { log: { remoteLocation: string } }).log.remoteLocation);
      return { status: 'Accepted' };
    });
    await h.tb.rpc('EV CP_OWN', ++rpcId, 'GetLog', {
      logType: 'DiagnosticsLog',
      requestId: 8,
      log: { remoteLocation: 'ftp://files.example/logs/' },
    });
    expect(location).toBe('ftp://files.example/logs/');
  });

  it('refuses unknown URLs, other paths and oversized bodies, keeps the login elsewhere, and counts it all', async () => {
    const cp = await station('CP_REF', 'ocpp2.0.1');
    let location = '';
    cp.handle('GetLog', ({ params }) => {
      location = String((params as { log: { remoteLocation: string } }).log.remoteLocation);
      return { status: 'Accepted' };
    });
    await h.tb.rpc('EV CP_REF', ++rpcId, 'GetLog', { logType: 'DiagnosticsLog', requestId: 9 });
    expect(location).toContain('/uploads/');
    expect([
      await upload(`${base}uploads/AAAAAAAAAAAAAAAAAAAAAA/x.log`, 'x'),
      await upload(`${base}uploads/x.log`, 'x'),
      await upload(`${base}uploads/a/b/c.log`, 'x'),
      await upload(`${location}big.log`, 'x'.repeat(MAX_BYTES + 1)),
      (await fetch(new URL('api/status', base))).status,
    ]).toEqual([404, 404, 400, 413, 401]);
    expect(existsSync(join(h.dir.path, 'station-logs', 'CP_REF', 'big.log'))).toBe(false);

    const status = await statusJson('api/status');
    expect(status.uploads).toMatchObject({
      stored: 2,
      unknownUrl: 2,
      badPath: 1,
      tooLarge: 1,
      urlsIssued: 3,
    });
    const res = await fetch(new URL('metrics', base), { headers: { authorization: CREDENTIALS } });
    const metrics = await res.text();
    for (const [series, value] of [
      ['ocpp_gateway_log_uploads_total{result="stored"}', 2],
      ['ocpp_gateway_log_uploads_total{result="unknown_url"}', 2],
      ['ocpp_gateway_log_uploads_total{result="too_large"}', 1],
      ['ocpp_gateway_log_upload_urls_total', 3],
    ] as const) {
      expect(metrics).toContain(`${series} ${value}\n`);
    }
  });
});
