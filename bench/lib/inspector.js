/**
 * A minimal client of the V8 inspector protocol, for the gateway started with --inspect: heap
 * figures after a forced GC (the status server reports the heap only as it is) and on-demand CPU profiles of a
 * measured window, without touching the gateway's code.
 */
import WebSocket from 'ws';

export class Inspector {
  static open(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
      ws.once('open', () => resolve(new Inspector(ws)));
      ws.once('error', reject);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      const p = m.id !== undefined ? this.pending.get(m.id) : undefined;
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
      else p.resolve(m.result);
    });
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('inspector closed'));
      this.pending.clear();
    });
  }

  send(method, params = {}, timeoutMs = 60_000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Full GC, then V8 heap used/total (bytes). */
  async heapAfterGc() {
    await this.send('HeapProfiler.collectGarbage');
    const { usedSize, totalSize } = await this.send('Runtime.getHeapUsage');
    return { heapUsed: usedSize, heapTotal: totalSize };
  }

  async startProfile(samplingIntervalUs = 500) {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await this.send('Profiler.start');
  }

  async stopProfile() {
    const { profile } = await this.send('Profiler.stop');
    await this.send('Profiler.disable');
    return profile;
  }

  close() {
    this.ws.terminate();
  }
}

/**
 * Self time per function of a .cpuprofile, highest first: {fn, where, selfMs, pct}. Anonymous
 * and internal frames keep their url:line so they can be found.
 */
export function topFunctions(profile, limit = 25) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  const dt = profile.timeDeltas ?? [];
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (dt[i] ?? 0) / 1000;
    total += ms;
    const node = byNode.get(profile.samples[i]);
    const cf = node.callFrame;
    const where = cf.url
      ? `${cf.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|dist|bench)\//, '$1/')}:${cf.lineNumber + 1}`
      : '';
    const key = `${cf.functionName || '(anonymous)'}\u0000${where}`;
    counts.set(key, (counts.get(key) ?? 0) + ms);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, ms]) => {
      const [fn, where] = key.split('\u0000');
      return { fn, where, selfMs: Math.round(ms), pct: Math.round((ms / total) * 1000) / 10 };
    });
}
