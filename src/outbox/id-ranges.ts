export interface IdRange {
  from: number;
  to: number;
}

/**
 * Sorted, disjoint, inclusive id ranges: the removals a SqliteOutbox has accepted but not yet
 * committed. Kept so that `readBatch` and `size` reflect a removal at once, as they do in memory.
 * The publisher removes one range per acknowledged publish, so this stays a handful of entries.
 */
export class IdRanges {
  private list: IdRange[] = [];

  get isEmpty(): boolean {
    return this.list.length === 0;
  }

  ranges(): readonly IdRange[] {
    return this.list;
  }

  clear(): void {
    this.list = [];
  }

  /** Adds [from, to]; returns the parts of it that no earlier range covered. */
  add(from: number, to: number): IdRange[] {
    const uncovered: IdRange[] = [];
    const kept: IdRange[] = [];
    let merged: IdRange = { from, to };
    let cursor = from;
    for (const r of this.list) {
      if (r.to < from - 1 || r.from > to + 1) {
        kept.push(r);
        continue;
      }
      // Overlapping or adjacent: it joins the merged range, and what it overlaps is not new.
      if (r.from <= to && r.to >= from) {
        if (r.from > cursor) uncovered.push({ from: cursor, to: r.from - 1 });
        cursor = Math.max(cursor, r.to + 1);
      }
      merged = { from: Math.min(merged.from, r.from), to: Math.max(merged.to, r.to) };
    }
    if (cursor <= to) uncovered.push({ from: cursor, to });
    kept.push(merged);
    kept.sort((a, b) => a.from - b.from);
    this.list = kept;
    return uncovered;
  }

  has(id: number): boolean {
    return this.find(id) !== undefined;
  }

  /** The largest id such that every id in (afterId, result] is in a range (afterId when none). */
  skip(afterId: number): number {
    const r = this.find(afterId + 1);
    return r === undefined ? afterId : r.to;
  }

  private find(id: number): IdRange | undefined {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.list[mid] as IdRange;
      if (r.to < id) lo = mid + 1;
      else if (r.from > id) hi = mid;
      else return r;
    }
    return undefined;
  }
}
