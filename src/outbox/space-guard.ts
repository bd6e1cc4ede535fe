/**
 * Keeps the disk under the SQLite database from filling up with new outbox records.
 *
 * On a disk that is really full, SQLite cannot get out by itself: deleting the records ThingsBoard
 * acknowledged is a write too (new WAL frames), and folding the WAL back into the database needs
 * the database file to grow by what the WAL holds — space the WAL itself occupies. Seen on a
 * 1 MB tmpfs: the WAL took the whole disk, the backlog drained to ThingsBoard, and every write
 * still failed, for ever. So new records are refused (their charge points get InternalError and
 * send them again later) while less than `minFreeBytes` is free, counting the pages free inside
 * the database, which new records reuse. Removals, checkpoints and the small per-station state
 * always have that room, so the outbox drains, gives its space back and takes records again by
 * itself.
 */
import { statfsSync } from 'node:fs';

export interface SpaceGuardOptions {
  /** The folder holding the database (its file system is measured). */
  folder: string;
  /** storage.min_free_disk_space_mb in bytes; > 0. */
  minFreeBytes: number;
  /** Bytes in pages the database has free (freelist), which new records reuse before growing it. */
  freeInDatabase(): number;
  /** Free bytes for this process on the file system holding `folder` (tests inject one). */
  freeOnDisk?(folder: string): number;
}

function statfsFree(folder: string): number {
  const s = statfsSync(folder);
  return s.bavail * s.bsize;
}

export class SpaceGuard {
  private readonly opts: SpaceGuardOptions;
  private readonly freeOnDisk: (folder: string) => number;
  private short = false;

  constructor(opts: SpaceGuardOptions) {
    this.opts = opts;
    this.freeOnDisk = opts.freeOnDisk ?? statfsFree;
  }

  get minFreeBytes(): number {
    return this.opts.minFreeBytes;
  }

  /**
   * Undefined when new records may be written; else why not. Checked before each commit that
   * holds new records (one statfs, a few microseconds); once short, the space must rise an eighth
   * above the bound before records are taken again, so that it does not flap at the edge.
   */
  shortage(): string | undefined {
    const min = this.opts.minFreeBytes;
    let onDisk: number;
    try {
      onDisk = this.freeOnDisk(this.opts.folder);
    } catch {
      // Cannot be measured (the folder vanished?): SQLite's own error will say what is wrong.
      this.short = false;
      return undefined;
    }
    if (!this.short && onDisk >= min) return undefined;
    const available = onDisk + this.opts.freeInDatabase();
    this.short = available < (this.short ? min + min / 8 : min);
    if (!this.short) return undefined;
    return (
      `less than ${formatMb(min)} free on the disk holding the database (${formatMb(available)} with the ` +
      `database's free pages; storage.min_free_disk_space_mb): new records are refused so that the ` +
      `outbox can still drain`
    );
  }
}

function formatMb(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}
