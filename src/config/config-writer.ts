/**
 * Writing configuration files changed through ThingsBoard's remote configuration: the previous
 * content is copied to `backup/<name>.backup.<unix seconds>.json` beside the file first (the
 * Python gateway's scheme, ten kept per file), then the new content replaces the file atomically
 * (written beside it, then renamed), so a crash never leaves half a file.
 */
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const BACKUPS_KEPT = 10;

/** Writes `doc` as pretty JSON to `file`; resolves with the backup made (undefined: none). */
export async function writeConfigFile(file: string, doc: unknown): Promise<string | undefined> {
  const backup = await backupConfigFile(file);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
  return backup;
}

/** Copies `file` (if it exists) into the backup folder; keeps the newest BACKUPS_KEPT of it. */
export async function backupConfigFile(file: string): Promise<string | undefined> {
  try {
    await stat(file);
  } catch {
    return undefined;
  }
  const dir = join(dirname(file), 'backup');
  await mkdir(dir, { recursive: true });
  const stem = basename(file).replace(/\.json$/i, '');
  const prefix = `${stem}.backup.`;
  const seconds = Math.floor(Date.now() / 1000);
  const mine = (names: string[]): string[] =>
    names.filter((f) => f.startsWith(prefix) && f.endsWith('.json')).sort(byAge);
  // Several changes in one second: numbered after the newest, so the order stays the age.
  const newest = mine(await readdir(dir)).at(-1);
  const [lastSeconds, lastN] = newest === undefined ? [0, -1] : ageOf(newest);
  const n = lastSeconds === seconds ? lastN + 1 : 0;
  const target = join(dir, n === 0 ? `${prefix}${seconds}.json` : `${prefix}${seconds}-${n}.json`);
  await copyFile(file, target);
  const ours = mine(await readdir(dir));
  for (const old of ours.slice(0, Math.max(0, ours.length - BACKUPS_KEPT))) {
    await rm(join(dir, old), { force: true });
  }
  return target;
}

function ageOf(f: string): [number, number] {
  const m = /\.backup\.(\d+)(?:-(\d+))?\.json$/.exec(f);
  return [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)];
}

/** `x.backup.1700000000.json` < `x.backup.1700000000-1.json` < `x.backup.1700000001.json`. */
function byAge(a: string, b: string): number {
  const [as, an] = ageOf(a);
  const [bs, bn] = ageOf(b);
  return as - bs || an - bn;
}

/** Modification time of `file` in ms (0 when it cannot be read). */
export async function modifiedAt(file: string): Promise<number> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return 0;
  }
}
