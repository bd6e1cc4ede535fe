/**
 * The load generator, in its own process: N simulated OCPP 1.6 charge points over real
 * WebSockets (`ws` with raw text frames: no RPC library, so the generator stays cheap and its
 * CPU goes to sockets). Driven by the harness over IPC: {id, cmd, ...args} → {id, ok, result}.
 *
 * Each charge point keeps at most one CALL outstanding (OCPP-J 1.6 §4.1.1) and answers the
 * Central System's CALLs (DataTransfer → Accepted, echoing `data`). Every MeterValues carries a
 * unique sequence number as its Energy.Active.Import.Register value, so the harness can match
 * what arrives on MQTT to the CALL that produced it.
 */
import { ChargePoint, meterValues, newTotals, now, reasonOf } from './lib/charge-point.js';
import { Samples, tally } from './lib/stats.js';

const CALL_TIMEOUT_MS = 30_000;
const BOOT = { chargePointVendor: 'Bench', chargePointModel: 'Sim-1', chargePointSerialNumber: 'SN-0' };
const STATUS = { connectorId: 1, errorCode: 'NoError', status: 'Available' };
const totals = newTotals();
/** Every charge point created, in creation order. */
const chargePoints = [];

/** Unanswered CALLs fail after CALL_TIMEOUT_MS, so no phase waits forever. */
setInterval(() => {
  const limit = now() - CALL_TIMEOUT_MS;
  for (const cp of chargePoints) {
    if (cp.out && cp.out.t < limit) {
      totals.callTimeouts++;
      cp.settle('timeout');
    }
  }
}, 1000).unref();

async function pool(items, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

const connected = () => chargePoints.filter((cp) => cp.connected);

const COMMANDS = {
  /** Opens `count` charge points (ids prefix+index), boots each and sends one Heartbeat. */
  async connect({
    url,
    from = 0,
    count,
    prefix = 'CP',
    concurrency = 200,
    compression = false,
    sourceIps = 1,
    heartbeat = true,
    timeoutMs = 30_000,
    password,
  }) {
    const t0 = now();
    const reasons = {};
    let ok = 0;
    const list = [];
    for (let k = 0; k < count; k++) {
      const cp = new ChargePoint(from + k, `${prefix}${from + k}`, totals);
      chargePoints.push(cp);
      list.push(cp);
    }
    await pool(list, concurrency, async (cp) => {
      try {
        await cp.open(url, { compression, sourceIps, timeoutMs, password });
        const boot = await cp.callP('BootNotification', BOOT);
        if (boot?.status !== 'Accepted') throw new Error(`boot ${boot?.status}`);
        if (heartbeat) await cp.callP('Heartbeat', {});
        ok++;
      } catch (err) {
        tally(reasons, reasonOf(err));
        cp.terminate();
      }
    });
    return {
      requested: count,
      ok,
      failed: count - ok,
      reasons,
      ms: now() - t0,
      connected: connected().length,
    };
  },

  /** Every connected charge point sends MeterValues as fast as it is answered, for durationMs. */
  throughput({ durationMs, epoch = 0 }) {
    const active = connected();
    const latency = new Samples();
    const errors = {};
    let sent = 0;
    let answered = 0;
    let tLast = 0;
    const t0 = now();
    const tStop = t0 + durationMs;
    return new Promise((resolve) => {
      let running = active.length;
      const finish = () => {
        if (--running > 0) return;
        resolve({
          cps: active.length,
          sent,
          answered,
          errors,
          t0,
          tStop,
          tLast,
          cpLatency: latency.summary(),
        });
      };
      if (running === 0) return resolve({ cps: 0, sent, answered, errors, t0, tStop, tLast, cpLatency: {} });
      for (const cp of active) {
        const loop = () => {
          if (now() >= tStop || !cp.connected) return finish();
          sent++;
          cp.call('MeterValues', meterValues(cp, epoch).payload, (err, _payload, t, tr) => {
            if (err) tally(errors, err);
            else {
              answered++;
              tLast = tr;
              latency.add(tr - t);
            }
            loop();
          });
        };
        loop();
      }
    });
  },

  /**
   * A fixed total rate spread round-robin over the connected charge points. A charge point still
   * waiting for its previous answer sends when it gets it (counted as `queued`).
   */
  latency({ rate, durationMs, epoch = 0 }) {
    const active = connected();
    const n = active.length;
    const total = Math.floor((rate * durationMs) / 1000);
    const period = 1000 / rate;
    const seqs = new Float64Array(total);
    const tSend = new Float64Array(total).fill(NaN);
    const tRecv = new Float64Array(total).fill(NaN);
    const errors = {};
    let dispatched = 0;
    let settled = 0;
    let queued = 0;
    let maxLag = 0;
    const t0 = now();
    return new Promise((resolve) => {
      if (n === 0 || total === 0) return resolve({ cps: n, total: 0, seqs, tSend, tRecv, errors });
      const done = () => {
        if (++settled < total) return;
        resolve({ cps: n, total, queued, maxSchedulingLagMs: maxLag, errors, seqs, tSend, tRecv, t0 });
      };
      const send = (cp, k) => {
        const { seq, payload } = meterValues(cp, epoch);
        seqs[k] = seq;
        tSend[k] = now();
        cp.call('MeterValues', payload, (err, _payload, _t, tr) => {
          if (err) tally(errors, err);
          else tRecv[k] = tr;
          const next = cp.backlog?.shift();
          if (next !== undefined) send(cp, next);
          done();
        });
      };
      const timer = setInterval(() => {
        const t = now();
        const due = Math.min(total, Math.floor((t - t0) / period) + 1);
        while (dispatched < due) {
          const k = dispatched++;
          maxLag = Math.max(maxLag, t - (t0 + k * period));
          const cp = active[k % n];
          if (cp.out) {
            (cp.backlog ??= []).push(k);
            queued++;
          } else send(cp, k);
        }
        if (dispatched >= total) clearInterval(timer);
      }, 1);
    });
  },

  /**
   * All connected charge points drop at once (TCP reset, no close frame) and reconnect at
   * once: upgrade + BootNotification + StatusNotification, no retries. Times from the drop.
   * `all`: every charge point created reconnects, also those the gateway closed (its restart).
   * `retryMs`: a handshake refused with HTTP 503 is tried again after retryMs (±50 %, as stations
   * spread their retries), until `retryForMs` after the drop; `retried` counts the extra attempts.
   */
  async storm({
    url,
    compression = false,
    sourceIps = 1,
    timeoutMs = 60_000,
    password,
    all = false,
    retryMs,
    retryForMs = 300_000,
  }) {
    const list = all ? chargePoints.slice() : connected();
    const t0 = now();
    for (const cp of list) cp.drop();
    const reasons = {};
    const opened = new Samples();
    const accepted = new Samples();
    let retried = 0;
    const openWithRetries = async (cp) => {
      for (;;) {
        try {
          return await cp.open(url, { compression, sourceIps, timeoutMs, password });
        } catch (err) {
          if (retryMs === undefined || reasonOf(err) !== 'HTTP 503' || now() - t0 > retryForMs) throw err;
          retried++;
          await new Promise((r) => setTimeout(r, retryMs * (0.5 + Math.random())));
        }
      }
    };
    await Promise.all(
      list.map(async (cp) => {
        try {
          await openWithRetries(cp);
          opened.add(now() - t0);
          const boot = await cp.callP('BootNotification', BOOT);
          if (boot?.status !== 'Accepted') throw new Error(`boot ${boot?.status}`);
          await cp.callP('StatusNotification', STATUS);
          accepted.add(now() - t0);
        } catch (err) {
          tally(reasons, reasonOf(err));
        }
      }),
    );
    const acc = accepted.summary();
    return {
      t0,
      cps: list.length,
      accepted: acc.count,
      refused: list.length - acc.count,
      reasons,
      retried,
      allAcceptedMs: acc.count === list.length ? acc.max : undefined,
      opened: opened.summary(),
      acceptedAt: acc,
    };
  },

  stats() {
    return { ...totals, connected: connected().length, created: chargePoints.length };
  },

  async closeAll() {
    const list = chargePoints.filter((cp) => cp.ws);
    await Promise.all(
      list.map(
        (cp) =>
          new Promise((resolve) => {
            const ws = cp.ws;
            const timer = setTimeout(() => (ws.terminate(), resolve()), 3000);
            ws.once('close', () => (clearTimeout(timer), resolve()));
            ws.close(1000);
          }),
      ),
    );
    chargePoints.length = 0;
    return { closed: list.length };
  },
};

process.on('message', async (m) => {
  try {
    const fn = COMMANDS[m.cmd];
    if (!fn) throw new Error(`unknown command ${m.cmd}`);
    const result = await fn(m);
    process.send({ id: m.id, ok: true, result });
  } catch (err) {
    process.send({ id: m.id, ok: false, error: String(err?.stack ?? err) });
  }
});
// The harness is gone (or asks us to stop): leave, the kernel closes the sockets.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
