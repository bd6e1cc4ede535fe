/**
 * A short smoke run of the benchmark harness (`bench/run.js --smoke`), so that `npm run bench`
 * cannot rot unnoticed. It asserts that every scenario ran and that nothing was lost or refused —
 * never a timing: figures belong to the benchmark, not to a test.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TempDir } from '../helpers/gateway-process.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

interface Row {
  scenario: string;
  config: string;
  metric: string;
  value: unknown;
}

describe('benchmark harness smoke run', () => {
  const dir = new TempDir();
  afterAll(() => dir.remove());

  it('runs every scenario end to end without losing a message', async () => {
    const out = join(dir.path, 'smoke.json');
    const list = 'idle,baseline,throughput,latency,rpc,storm,ratelimited';
    await run(process.execPath, ['bench/run.js', '--smoke', '--scenario', list, '--out', out], {
      cwd: ROOT,
      timeout: 120_000,
    });
    const result = JSON.parse(readFileSync(out, 'utf8')) as { rows: Row[]; failures: unknown[] };
    expect(result.failures).toEqual([]);
    const scenarios = new Set(result.rows.map((r) => r.scenario));
    expect([...scenarios].sort()).toEqual([
      'baseline',
      'idle',
      'latency',
      'ratelimited',
      'rpc',
      'storm',
      'throughput',
    ]);
    const value = (scenario: string, metric: string): unknown[] =>
      result.rows.filter((r) => r.scenario === scenario && r.metric.startsWith(metric)).map((r) => r.value);
    for (const v of value('idle', 'booted')) expect(String(v)).toMatch(/^(\d+)\/\1$/);
    const latency = value('latency', 'sent / answered / missing');
    expect(latency.length).toBe(2);
    for (const v of latency) expect(String(v)).toMatch(/^(\d+) \/ \1 \/ 0$/);
    expect(value('rpc', 'failed')).toEqual([0]);
    expect(value('storm', 'refused')).toEqual([0]);
    expect(value('ratelimited', 'violations')).toEqual([0]);
    expect(value('ratelimited', 'answered but missing')).toEqual([0]);
  }, 150_000);
});
