import { describe, expect, it } from 'vitest';
import { SpaceGuard } from '../../src/outbox/space-guard.js';

const MB = 1024 * 1024;

/** A guard over a disk whose free space and database freelist the test sets. */
function aGuard(min = 16 * MB): {
  guard: SpaceGuard;
  disk: { free: number; freelist: number; fails: boolean };
} {
  const disk = { free: 100 * MB, freelist: 0, fails: false };
  const guard = new SpaceGuard({
    folder: '/data',
    minFreeBytes: min,
    freeInDatabase: () => disk.freelist,
    freeOnDisk: () => {
      if (disk.fails) throw new Error('ENOENT');
      return disk.free;
    },
  });
  return { guard, disk };
}

describe('SpaceGuard', () => {
  it.each([
    ['plenty free', 100, 0, false],
    ['exactly the bound', 16, 0, false],
    ['below the bound', 15.9, 0, true],
    ['below on disk, but the database has free pages to reuse', 10, 6, false],
    ['below with too few free pages', 10, 5, true],
    ['a full disk', 0, 0, true],
  ])('%s (%f MB free, %f MB in the freelist): short = %s', (_what, free, freelist, short) => {
    const { guard, disk } = aGuard();
    disk.free = free * MB;
    disk.freelist = freelist * MB;
    expect(guard.shortage() !== undefined).toBe(short);
  });

  it('names the bound and the setting that changes it', () => {
    const { guard, disk } = aGuard();
    disk.free = 3 * MB;
    expect(guard.shortage()).toBe(
      "less than 16 MB free on the disk holding the database (3 MB with the database's free pages; " +
        'storage.min_free_disk_space_mb): new records are refused so that the outbox can still drain',
    );
  });

  it('once short, takes records again only an eighth above the bound (no flapping at the edge)', () => {
    const { guard, disk } = aGuard();
    disk.free = 15 * MB;
    expect(guard.shortage()).toBeDefined();
    disk.free = 17 * MB;
    expect(guard.shortage()).toBeDefined();
    disk.free = 17 * MB;
    disk.freelist = 1 * MB; // the backlog drained: its pages are free inside the database
    expect(guard.shortage()).toBeUndefined();
    disk.free = 16.5 * MB;
    disk.freelist = 0;
    expect(guard.shortage()).toBeUndefined();
  });

  it('a disk it cannot measure is left to SQLite to report', () => {
    const { guard, disk } = aGuard();
    disk.fails = true;
    expect(guard.shortage()).toBeUndefined();
  });
});
