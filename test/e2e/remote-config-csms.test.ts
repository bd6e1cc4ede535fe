/**
 * Remote configuration of the Central System features, end to end: the built CLI against the
 * ThingsBoard stand-in, a strict ocpp-rpc station that stays connected while the operator changes
 * `authorization` and `tariff` on ThingsBoard's gateway page. The change rebuilds the features
 * (routes.ts): the next Authorize of a token moved to Blocked is refused, the transaction open
 * across the change is ended with the new tariff's cost, and no idToken is published in clear.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { aBootNotification, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { StandInHarness } from '../helpers/standin-harness.js';

type Json = Record<string, unknown>;

const OCPP = {
  centralSystem: { host: '127.0.0.1', port: 0 },
  chargePoints: [
    {
      idRegexpPattern: 'CP_[0-9]+',
      deviceNameExpression: 'EV ${ChargePointId}',
      deviceTypeExpression: 'charger',
      sessions: true,
    },
  ],
  authorization: {
    mode: 'list',
    idTokens: { CARD0001: { status: 'Accepted' }, CARD0002: { status: 'Accepted' } },
  },
};

describe('remote configuration of authorization and tariff', () => {
  let h: StandInHarness | undefined;
  let cp: RpcClient | undefined;
  afterEach(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    cp = undefined;
    await h?.stop();
    h = undefined;
  });

  it('a token moved to Blocked is refused at its next Authorize while the station stays connected; the open transaction survives', async () => {
    h = await StandInHarness.start({
      thingsboard: { remoteConfiguration: true },
      connectors: [{ name: 'OCPP', file: 'ocpp.json', ocpp: OCPP }],
    });
    const { tb } = h;
    await tb.waitFor(() => tb.clientAttributes.has('OCPP'), 10_000, 'connector attribute');
    // The configuration ThingsBoard is shown holds no idToken: the list's keys are placeholders.
    const published = structuredClone(tb.clientAttributes.get('OCPP')) as Json;
    const json = published.configurationJson as Json;
    expect(json.authorization).toEqual({
      mode: 'list',
      idTokens: { '<secret:1>': { status: 'Accepted' }, '<secret:2>': { status: 'Accepted' } },
    });
    expect(JSON.stringify(tb.reports.map((r) => r.json))).not.toContain('CARD000');

    cp = await connectChargePoint({ url: h.urls.OCPP ?? '', identity: 'CP_1' });
    let closed = false;
    (cp as unknown as { on(e: string, f: () => void): void }).on('close', () => (closed = true));
    await cp.call('BootNotification', aBootNotification());
    expect(await cp.call('Authorize', { idTag: 'CARD0001' })).toMatchObject({
      idTagInfo: { status: 'Accepted' },
    });
    const started = (await cp.call('StartTransaction', {
      connectorId: 1,
      idTag: 'CARD0002',
      meterStart: 1000,
      timestamp: '2026-06-01T12:00:00Z',
    })) as { transactionId: number; idTagInfo: { status: string } };
    expect(started.idTagInfo.status).toBe('Accepted');

    // The operator blocks the first card and sets a tariff, on the gateway page.
    const idTokens = json.authorization as { idTokens: Record<string, Json> };
    idTokens.idTokens['<secret:1>'] = { status: 'Blocked' };
    const [entry] = json.chargePoints as Json[];
    (entry as Json).tariff = { currency: 'EUR', pricePerKWh: 0.5 };
    tb.setShared({ OCPP: { ...published, ts: Date.now() } });
    await tb.waitFor(
      () => {
        const all = tb.clientAttributes.get('remoteConfigurationStatus') as Record<string, Json> | undefined;
        return all?.OCPP?.result === 'applied';
      },
      10_000,
      'applied',
    );

    expect(await cp.call('Authorize', { idTag: 'CARD0001' })).toMatchObject({
      idTagInfo: { status: 'Blocked' },
    });
    expect(await cp.call('Authorize', { idTag: 'CARD0002' })).toMatchObject({
      idTagInfo: { status: 'Accepted' },
    });
    await cp.call('StopTransaction', {
      transactionId: started.transactionId,
      meterStop: 4000,
      timestamp: '2026-06-01T12:30:00Z',
      reason: 'Local',
    });
    const session = await tb.waitFor(
      () => tb.values('EV CP_1', 'session')[0] as Json | undefined,
      10_000,
      'session record',
    );
    expect(session).toMatchObject({
      transactionId: String(started.transactionId),
      start: '2026-06-01T12:00:00Z',
      energyWh: 3000,
      cost: 1.5,
      currency: 'EUR',
    });
    expect(closed).toBe(false);
    expect(tb.usernames).toHaveLength(1);
    // The decisions were published with the token masked.
    const decisions = tb.values('EV CP_1', 'authorization') as Json[];
    expect(decisions.map((d) => d.status)).toEqual(['Accepted', 'Accepted', 'Blocked', 'Accepted']);
    expect(JSON.stringify(decisions)).not.toContain('CARD000');

    // The file holds the real tokens, the change applied to the right one.
    const written = JSON.parse(readFileSync(join(h.dir.path, 'ocpp.json'), 'utf8')) as Json;
    expect(written.authorization).toEqual({
      mode: 'list',
      idTokens: { CARD0001: { status: 'Blocked' }, CARD0002: { status: 'Accepted' } },
    });
    // Echoed back redacted.
    expect(JSON.stringify(tb.clientAttributes.get('OCPP'))).not.toContain('CARD000');
  });
});
