/**
 * The status page in a real browser (Debian's Chromium, headless, driven by playwright-core; no
 * browser is downloaded): live charge points appear in the table, a StatusNotification shows up
 * without a reload, the charge point page shows its frames as they happen, and a screenshot of
 * the page has content.
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
 * screenshot into a canvas and reports how much of it is not near-white and how many colours it has.
 */
const PIXEL_SURVEY = `(async () => {
  const img = document.getElementById('shot');
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const data = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] + data[i + 1] + data[i + 2] < 600) ink++;
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  }
  return { width: canvas.width, ink: ink / (data.length / 4), colours: colours.size };
})()`;
const skip = process.env.TB_OCPP_SKIP_BROWSER === '1';

describe.skipIf(skip)('status page in a browser', () => {
  let h: Harness;
  let base: string;
  let context: BrowserContext;
  let profile: string;
  const clients: RpcClient[] = [];

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

  it('lists the live charge points and follows a status change without a reload', async () => {
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForSelector('#live.on', { timeout: 10_000 });
    expect(await rowText(page, 'site/CP_A')).toMatch(
      /site\/CP_A.*Wallbox A.*ocpp1\.6.*127\.0\.0\.1.*1: Available/s,
    );
    expect(await rowText(page, 'site/CP_B')).toMatch(/site\/CP_B.*Station B.*ocpp2\.0\.1.*1\/1: Available/s);
    await expect.poll(() => page.locator('#tb-state').textContent()).toBe('connected');

    // A marker in the page survives only if the page is not loaded again.
    await page.evaluate('window.marker = 42');
    await (clients[0] as RpcClient).call('StatusNotification', {
      connectorId: 1,
      errorCode: 'GroundFailure',
      status: 'Faulted',
    });
    // Polled from outside the page: the page's Content-Security-Policy forbids evaluating strings in it.
    await expect.poll(() => rowText(page, 'site/CP_A'), { timeout: 10_000 }).toContain('1: Faulted');
    expect(await page.evaluate('window.marker')).toBe(42);
    expect(
      await page.locator('#chargepoints tbody tr[data-id="site/CP_A"] .badge').getAttribute('class'),
    ).toContain('s-faulted');

    const shot = await page.screenshot({ fullPage: true });
    expect(shot.length).toBeGreaterThan(20_000);
    const check = await context.newPage();
    await check.setContent(`<img id="shot" src="data:image/png;base64,${shot.toString('base64')}">`);
    const pixels = (await check.evaluate(PIXEL_SURVEY)) as { width: number; ink: number; colours: number };
    expect(pixels.width).toBe(1280);
    expect(pixels.ink).toBeGreaterThan(0.005);
    expect(pixels.colours).toBeGreaterThan(20);
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
    await page.close();
  });
});
