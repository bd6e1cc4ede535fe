/**
 * The machine figures of the Python gateway's statistics (gateway/statistics/service_functions.py,
 * psutil), with the same meanings — including its names: `freeMemory` is the share of memory in
 * use, as psutil's `virtual_memory().percent` is. Sizes are written as psutil's `bytes2human`
 * writes them (`"7.6G"`).
 */
import { readFile, statfs } from 'node:fs/promises';
import { availableParallelism, loadavg, totalmem, freemem, platform } from 'node:os';

const SYMBOLS = ['K', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'] as const;

/** psutil._common.bytes2human: `"%(value).1f%(symbol)s"` with 1024-based symbols. */
export function bytes2human(n: number): string {
  for (let i = SYMBOLS.length - 1; i >= 0; i--) {
    const prefix = 2 ** ((i + 1) * 10);
    if (Math.abs(n) >= prefix) return `${(n / prefix).toFixed(1)}${SYMBOLS[i] ?? ''}`;
  }
  return `${n.toFixed(1)}B`;
}

export interface DiskFigures {
  total: number;
  /** Free for unprivileged users (psutil disk_usage().free). */
  free: number;
  /** used / (used + free) × 100, as psutil. */
  percent: number;
}

const DISK_PATH = platform() === 'win32' ? process.cwd() : '/';

export async function disk(): Promise<DiskFigures | undefined> {
  try {
    const s = await statfs(DISK_PATH);
    const total = s.blocks * s.bsize;
    const used = (s.blocks - s.bfree) * s.bsize;
    const free = s.bavail * s.bsize;
    return { total, free, percent: used + free > 0 ? Math.round((used / (used + free)) * 1000) / 10 : 0 };
  } catch {
    return undefined;
  }
}

/** Memory in use, % (psutil virtual_memory().percent: (total − available) / total). */
export async function memoryUsedPercent(): Promise<number> {
  const total = totalmem();
  let available = freemem();
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(await readFile('/proc/meminfo', 'utf8'));
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux: free memory is the closest figure
  }
  return Math.round(((total - available) / total) * 1000) / 10;
}

export function cpuCount(): number {
  return availableParallelism();
}

/** The Python gateway's totalCpuUsage: the 15-minute load average per CPU, %. */
export function totalCpuUsage(): number {
  return Math.round(((loadavg()[2] ?? 0) / cpuCount()) * 100 * 100) / 100;
}

/** CPU used by this process since the previous call, % of one CPU (psutil cpu_percent(interval=None)). */
export class ProcessCpu {
  private last = process.cpuUsage();
  private lastAt = performance.now();

  sample(): number {
    const now = performance.now();
    const usage = process.cpuUsage(this.last);
    const elapsedMs = now - this.lastAt;
    this.last = process.cpuUsage();
    this.lastAt = now;
    if (elapsedMs <= 0) return 0;
    return Math.round(((usage.user + usage.system) / 1000 / elapsedMs) * 1000) / 10;
  }
}

/** This process' resident memory as a share of the machine's, % (psutil memory_percent()). */
export function processMemoryPercent(): number {
  return Math.round((process.memoryUsage.rss() / totalmem()) * 1000) / 10;
}
