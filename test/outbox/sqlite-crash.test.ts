import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { SqliteDatabase, SqliteOutbox, SqliteStateStore } from '../../src/outbox/sqlite.js';
import { numberOf, tempDirs } from './helpers.js';

/*
 * A real crash needs a second process, and Node 20 cannot run TypeScript: the child imports the
 * compiled module from dist/ (`npm test` builds first). When dist/ is missing or older than the
 * sources it is rebuilt here, so `npx vitest run test/outbox` alone is enough.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'dist');
const fixture = join(root, 'test', 'outbox', 'fixtures', 'crash-child.mjs');

function distIsStale(): boolean {
  for (const name of readdirSync(join(root, 'src', 'outbox'))) {
    if (!name.endsWith('.ts')) continue;
    const built = join(dist, 'outbox', name.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(root, 'src', 'outbox', name)).mtimeMs) {
      return true;
    }
  }
  return false;
}

beforeAll(() => {
  if (!distIsStale()) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
      cwd: root,
      stdio: 'pipe',
    });
  } catch {
    // Type errors elsewhere in the project still emit (noEmitOnError is off); checked below.
  }
  if (distIsStale()) throw new Error(`could not build ${dist}/outbox; run npm run build`);
}, 120_000);

const dirs = tempDirs();
const toClose: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const c of toClose.splice(0)) await c.close();
  dirs.cleanup();
});

function runChildUntilKilled(mode: 'append' | 'txids', file: string, count: number): Record<string, number> {
  const child = spawnSync(process.execPath, [fixture, dist, mode, file, String(count)], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(child.stderr).toBe('');
  expect(child.signal).toBe('SIGKILL');
  return JSON.parse(child.stdout) as Record<string, number>;
}

describe('SqliteOutbox after a crash (SIGKILL)', () => {
  it('has every record whose append had resolved', async () => {
    const file = join(dirs.make(), 'outbox.db');
    const { committed } = runChildUntilKilled('append', file, 5000);
    expect(committed).toBe(5000);
    expect(existsSync(`${file}-wal`)).toBe(true); // proof that the child did not close cleanly

    const logger = silentLogger();
    const outbox = new SqliteOutbox({
      database: new SqliteDatabase({ dataFilePath: file, logger }),
      maxRecordsCount: 1e6,
      logger,
    });
    toClose.push(outbox);
    await outbox.open();
    expect(outbox.size()).toBeGreaterThanOrEqual(5000);
    const records = outbox.readBatch(0, 10_000);
    expect(records.slice(0, 5000).map(numberOf)).toEqual(Array.from({ length: 5000 }, (_, n) => n));
  });

  it('hands out transaction ids above every id the crashed process handed out', async () => {
    const file = join(dirs.make(), 'gateway.db');
    const { maxTransactionId } = runChildUntilKilled('txids', file, 1234);
    expect(maxTransactionId).toBe(1234);

    const logger = silentLogger();
    const state = new SqliteStateStore({
      database: new SqliteDatabase({ dataFilePath: file, logger }),
      logger,
    });
    toClose.push(state);
    await state.open();
    expect(state.nextTransactionId()).toBeGreaterThan(maxTransactionId as number);
  });
});
