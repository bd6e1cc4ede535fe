/**
 * The status page in a real browser (Debian's Chromium, headless, driven by playwright-core; no
 * browser is downloaded): live charge points appear in the table, a StatusNotification and the
 * energy of an open transaction change without a reload, the ThingsBoard link and the counters of
 * every stage are shown, the charge point page shows its frames as they happen, and a screenshot
 * of the page shows the table (its pixels where the row's status badge is drawn are the badge's).
 *
 * .ci/run installs Chromium. Without /usr/bin/chromium this file fails and says how to install
 * it; TB_OCPP_SKIP_BROWSER=1 skips it explicitly.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/harness.js';
import { aBootNotification, connectChargePoint, type RpcClient } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Runs in the page (as text: the tests are compiled without the DOM's types): draws the
 * screenshot into a canvas and reports how much of it is not near-white, how many colours it has,
 * and, inside the box `BOX` (x, y, width, height), how many pixels are close to the colour `RGB`.
 */
const PIXEL_SURVEY = (box: { x: number; y: number; width: number; height: number }, rgb: number[]) =>
  `(async () => {
  const BOX = ${JSON.stringify(box)};
  const RGB = ${JSON.stringify(rgb)};
  const img = document.getElementById('shot');
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  let inBox = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] + data[i + 1] + data[i + 2] < 600) ink++;
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    const x = (i / 4) % canvas.width;
    const y = Math.floor(i / 4 / canvas.width);
    const near = Math.abs(data[i] - RGB[0]) + Math.abs(data[i + 1] - RGB[1]) + Math.abs(data[i + 2] - RGB[2]) < 40;
    if (near && x >= BOX.x && x < BOX.x + BOX.width && y >= BOX.y && y < BOX.y + BOX.height) inBox++;
  }
  return { width: canvas.width, ink: ink / (data.length / 4), colours: colours.size, inBox };
})()`;
/** The style sheet's --bad colour (#cf222e), which a Faulted badge is drawn in. */
const BAD_RGB = [0xcf, 0x22, 0x2e];
const skip = process.env.TB_OCPP_SKIP_BROWSER === '1';

function meterValues(transactionId: number, wh: number): Record<string, unknown> {
  return {
    connectorId: 1,
    transactionId,
    meterValue: [
      {
        timestamp: new Date().toISOString(),
        sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
      },
    ],
  };
}

describe.skipIf(skip)('status page in a browser', () => {
  let h: Harness;
  let base: string;
  let context: BrowserContext;
  let profile: string;
  const clients: RpcClient[] = [];
  let transactionId = 0;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} not found: install it with "apt-get install -y chromium" (as .ci/run does)`,
      );
    }
    h = await Harness.start({
      connectors: [
        {
          name: 'Site',
          ocpp: {
            centralSystem: { host: '127.0.0.1', port: 0 },
            chargePoints: [
              {
                idRegexpPattern: 'site/.*',
                deviceNameExpression: '${ChargePointId}',
                deviceTypeExpression: '${Model}',
                sessions: true,
              },
            ],
          },
        },
      ],
      env: { LOG_LEVEL: 'info' },
    });
    base = await h.statusUrl();
    const ws = h.urls.Site ?? '';
    const a = await connectChargePoint({ url: `${ws}/site`, identity: 'CP_A' });
    clients.push(a);
    await a.call('BootNotification', aBootNotification({ chargePointModel: 'Wallbox A' }));
    await a.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });
    const started = (await a.call('StartTransaction', {
      connectorId: 1,
      idTag: 'CARD12345678',
      meterStart: 10_000,
      timestamp: new Date().toISOString(),
    })) as { transactionId: number };
    transactionId = started.transactionId;
    await a.call('MeterValues', meterValues(transactionId, 12_500));
    const b = await connectChargePoint({ url: `${ws}/site`, identity: 'CP_B', protocols: ['ocpp2.0.1'] });
    clients.push(b);
    await b.call('BootNotification', aBootNotification2({ model: 'Station B' }));
    await b.call('StatusNotification', {
      timestamp: new Date().toISOString(),
      connectorStatus: 'Available',
      evseId: 1,
      connectorId: 1,
    });
    profile = mkdtempSync(join(tmpdir(), 'tb-ocpp-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1280, height: 900 },
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    for (const c of clients) await c.close({ code: 1000 }).catch(() => undefined);
    await h?.stop();
  });

  async function rowText(page: Page, id: string): Promise<string> {
    return (await page.locator(`#chargepoints tbody tr[data-id="${id}"]`).textContent()) ?? '';
  }

  it('lists the live charge points, shows the link and every stage, and follows changes without a reload', async () => {
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForSelector('#live.on', { timeout: 10_000 });
    expect(await rowText(page, 'site/CP_A')).toMatch(
      /site\/CP_A.*Wallbox A.*ocpp1\.6.*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d.*127\.0\.0\.1:\d+.*MeterValues.*1: Available/s,
    );
    expect(await rowText(page, 'site/CP_B')).toMatch(/site\/CP_B.*Station B.*ocpp2\.0\.1.*1\/1: Available/s);
    // The open transaction with its energy so far (12,500 − 10,000 Wh), the idToken masked.
    expect(await rowText(page, 'site/CP_A')).toMatch(new RegExp(`${transactionId} · 2\\.50 kWh · \\*+678`));
    expect(await page.content()).not.toContain('CARD12345678');
    await expect.poll(() => page.locator('#tb-state').textContent()).toBe('connected');
    // The link: backlog and its age, the last publish, the session limits in force.
    expect(await page.locator('#backlog').textContent()).toMatch(/^\d+$/);
    expect(await page.locator('#backlog-age').textContent()).toMatch(/^\d+(\.\d+)?$/);
    await expect.poll(() => page.locator('#tb-last').textContent()).toMatch(/^\d{4}-\d\d-\d\d /);
    expect(await page.locator('#tb-limits').textContent()).toContain('"maxPayloadBytes"');
    // The counters of every stage, the Central System's among them.
    const captions = await page.locator('#counters caption').allTextContents();
    for (const stage of ['handshakes', 'protocol', 'mapping', 'Central System', 'RPC', 'security']) {
      expect(captions).toContain(`Site: ${stage}`);
    }
    expect(captions).toEqual(expect.arrayContaining(['outbox', 'ThingsBoard']));
    expect(await page.locator('#counters').textContent()).toContain('sessions.started1');

    // A marker in the page survives only if the page is not loaded again.
    await page.evaluate('window.marker = 42');
    const a = clients[0] as RpcClient;
    await a.call('StatusNotification', { connectorId: 1, errorCode: 'GroundFailure', status: 'Faulted' });
    await a.call('MeterValues', meterValues(transactionId, 14_000));
    // Polled from outside the page: the page's Content-Security-Policy forbids evaluating strings in it.
    await expect.poll(() => rowText(page, 'site/CP_A'), { timeout: 10_000 }).toContain('1: Faulted');
    await expect.poll(() => rowText(page, 'site/CP_A'), { timeout: 10_000 }).toContain('4.00 kWh');
    expect(await page.evaluate('window.marker')).toBe(42);
    const badge = page.locator('#chargepoints tbody tr[data-id="site/CP_A"] .badge');
    expect(await badge.getAttribute('class')).toContain('s-faulted');

    const box = await badge.boundingBox();
    expect(box).not.toBeNull();
    const shot = await page.screenshot({ fullPage: true });
    expect(shot.length).toBeGreaterThan(20_000);
    const check = await context.newPage();
    await check.setContent(`<img id="shot" src="data:image/png;base64,${shot.toString('base64')}">`);
    const pixels = (await check.evaluate(PIXEL_SURVEY(box!, BAD_RGB))) as {
      width: number;
      ink: number;
      colours: number;
      inBox: number;
    };
    expect(pixels.width).toBe(1280);
    expect(pixels.ink).toBeGreaterThan(0.005);
    expect(pixels.colours).toBeGreaterThan(20);
    // The Faulted badge of CP_A's row is in the screenshot, where the page drew it, in its colour.
    expect(pixels.inBox).toBeGreaterThan(20);
    await check.close();
    await page.close();
  });

  it('opens a charge point page that shows its frames as they come', async () => {
    const page = await context.newPage();
    await page.goto(base);
    await page.click('#chargepoints tbody tr[data-id="site/CP_B"] a');
    await page.waitForURL(/chargepoints\/site%2FCP_B$/);
    await page.waitForSelector('#live.on', { timeout: 10_000 });
    expect(await page.locator('#cp-version').textContent()).toContain('ocpp2.0.1');
    await (clients[1] as RpcClient).call('Heartbeat', {});
    await expect
      .poll(() => page.locator('#frames tbody').textContent(), { timeout: 10_000 })
      .toContain('"Heartbeat"');
    const frames = await page.locator('#frames tbody tr').allTextContents();
    expect(frames.some((f) => f.includes('⇦ in') && f.includes('Heartbeat'))).toBe(true);
    expect(frames.some((f) => f.includes('⇨ out') && f.includes('currentTime'))).toBe(true);

    // The page's button logs this charge point's frames at info (LOG_LEVEL is info here).
    expect(await page.locator('#cp-trace').textContent()).toBe('at debug level only');
    await page.click('#trace-on');
    await expect
      .poll(() => page.locator('#cp-trace').textContent(), { timeout: 10_000 })
      .toMatch(/^logged at info until \d{4}-/);
    await (clients[1] as RpcClient).call('Heartbeat', {});
    const logged = await h.gateway.waitForLog(
      (l) => l.msg === 'OCPP frame' && l.chargePointId === 'site/CP_B' && l.action === 'Heartbeat',
    );
    expect(logged).toMatchObject({ level: 30, ocppVersion: 'ocpp2.0.1', direction: 'in' });
    await page.close();
  });
});
