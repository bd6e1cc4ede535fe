/**
 * `npm run demo`, briefly: the embedded broker, the gateway, simulated stations of every OCPP
 * version and the status page come up, data flows to the ThingsBoard stand-in, and it stops by
 * itself (as on Ctrl-C) with exit 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

describe('npm run demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-ocpp-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('brings everything up, says where to look, moves data, and stops cleanly', async () => {
    const child = spawn(
      'npm',
      ['run', '--silent', 'demo', '--', '--dir', dir, '--duration', '14', '--stations', '1', '--any-port'],
      {
        cwd: ROOT,
        env: { ...process.env, npm_config_update_notifier: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!/status page\s+http:\/\/127\.0\.0\.1:\d+\//.test(out)) {
        if (Date.now() > deadline) throw new Error(`the demo did not come up:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const page = /status page\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1] ?? '';
      expect(out).toMatch(/charge points connect to\s+ws:\/\/127\.0\.0\.1:\d+\/<id>/);
      expect(out).toMatch(/ThingsBoard stand-in \(MQTT\)\s+mqtt:\/\/127\.0\.0\.1:\d+/);
      expect(out).toContain('Press Ctrl-C to stop.');
      expect((await fetch(page)).status).toBe(200);
      let versions: string[] = [];
      while (versions.length < 3) {
        if (Date.now() > deadline) throw new Error(`not every version connected: ${versions.join(', ')}`);
        const list = (await (await fetch(new URL('api/chargepoints', page))).json()) as {
          chargePoints: { ocppVersion: string }[];
        };
        versions = [...new Set(list.chargePoints.map((c) => c.ocppVersion))].sort();
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(versions).toEqual(['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']);
      // Sessions start within seconds: the page shows open transactions.
      let transactions = 0;
      while (transactions === 0) {
        if (Date.now() > deadline + 10_000) throw new Error('no open transaction on the status page');
        const list = (await (await fetch(new URL('api/chargepoints', page))).json()) as {
          chargePoints: { transactions: unknown[] }[];
        };
        transactions = list.chargePoints.reduce((n, c) => n + c.transactions.length, 0);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await exited).toBe(0);
      const summary = /received (\d+) telemetry and (\d+) attribute messages from (\d+) devices\s*$/.exec(
        out.trim(),
      );
      expect(summary, out).not.toBeNull();
      expect(Number(summary?.[1])).toBeGreaterThan(0);
      expect(Number(summary?.[2])).toBeGreaterThan(0);
      expect(Number(summary?.[3])).toBe(3);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  }, 60_000);
});
