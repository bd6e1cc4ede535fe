import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKUPS_KEPT, writeConfigFile } from '../../src/config/config-writer.js';

describe('writing a configuration file changed from ThingsBoard', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps the previous content as a backup, the newest ten of them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tbgw-writer-'));
    dirs.push(dir);
    const file = join(dir, 'ocpp.json');
    writeFileSync(file, '{"v":0}');
    for (let v = 1; v <= 12; v++) await writeConfigFile(file, { v });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 12 });
    const backups = readdirSync(join(dir, 'backup')).sort();
    expect(backups).toHaveLength(BACKUPS_KEPT);
    const kept = backups.map(
      (f) => (JSON.parse(readFileSync(join(dir, 'backup', f), 'utf8')) as { v: number }).v,
    );
    expect(kept.sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Nothing half-written is left beside the file.
    expect(readdirSync(dir).sort()).toEqual(['backup', 'ocpp.json']);
  });

  it('makes no backup of a file that did not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tbgw-writer-'));
    dirs.push(dir);
    expect(await writeConfigFile(join(dir, 'new.json'), { a: 1 })).toBeUndefined();
  });
});
