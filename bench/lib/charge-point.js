/**
 * One simulated OCPP 1.6 charge point of the load generator (bench/load.js): a `ws` client
 * writing raw OCPP-J text frames, at most one CALL of its own outstanding (OCPP-J 1.6 §4.1.1),
 * answering the Central System's CALLs (DataTransfer → Accepted, echoing `data`).
 */
import WebSocket from 'ws';

export const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Counters shared by all charge points of the process. */
export function newTotals() {
  return { serverCalls: 0, rpcAnswered: 0, unexpectedFrames: 0, badFrames: 0, callTimeouts: 0 };
}

/** A short, countable name for why a connection or call failed. */
export function reasonOf(err) {
  if (typeof err === 'string') return err;
  const m = /Unexpected server response: (\d+)/.exec(err?.message ?? '');
  if (m) return `HTTP ${m[1]}`;
  return err?.code ?? String(err?.message ?? err).slice(0, 80);
}

export class ChargePoint {
  constructor(index, id, totals) {
    this.totals = totals;
    this.index = index;
    this.id = id;
    this.ws = undefined;
    this.out = undefined;
    this.msgId = 0;
    this.seq = 0;
    this.backlog = undefined;
  }

  get connected() {
    return this.ws !== undefined && this.ws.readyState === WebSocket.OPEN;
  }

  /** `password`: HTTP Basic with the charge point id as username (security profile 1). */
  open(url, { compression, sourceIps, timeoutMs, password }) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}/${encodeURIComponent(this.id)}`, ['ocpp1.6'], {
        perMessageDeflate: compression,
        handshakeTimeout: timeoutMs,
        ...(password === undefined
          ? {}
          : {
              headers: {
                authorization: `Basic ${Buffer.from(`${this.id}:${password}`).toString('base64')}`,
              },
            }),
        // Several loopback source addresses: each has its own ~28k ephemeral ports.
        localAddress: sourceIps > 1 ? `127.0.0.${1 + (this.index % sourceIps)}` : undefined,
      });
      let settled = false;
      ws.once('open', () => {
        settled = true;
        this.ws = ws;
        resolve();
      });
      ws.on('error', (err) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      ws.on('message', (data) => this.onMessage(ws, data));
      ws.on('close', (code) => {
        if (this.ws === ws) this.ws = undefined;
        if (this.out?.ws === ws) this.settle(`closed ${code}`);
        if (!settled) {
          settled = true;
          reject(new Error(`closed ${code} during handshake`));
        }
      });
    });
  }

  /** cb(err, payload, tSent, tReceived) */
  call(action, payload, cb) {
    if (!this.connected) return cb('not connected');
    if (this.out) return cb('call already outstanding');
    const id = String(++this.msgId);
    this.out = { id, t: now(), cb, ws: this.ws };
    this.ws.send(`[2,"${id}","${action}",${JSON.stringify(payload)}]`);
  }

  callP(action, payload) {
    return new Promise((resolve, reject) =>
      this.call(action, payload, (err, result) => (err ? reject(new Error(err)) : resolve(result))),
    );
  }

  settle(err, payload) {
    const out = this.out;
    if (!out) return;
    this.out = undefined;
    out.cb(err, payload, out.t, now());
  }

  onMessage(ws, data) {
    let frame;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      this.totals.badFrames++;
      return;
    }
    const type = frame[0];
    if (type === 3 || type === 4) {
      if (this.out?.id !== frame[1] || this.out.ws !== ws) {
        this.totals.unexpectedFrames++;
        return;
      }
      if (type === 3) this.settle(undefined, frame[2]);
      else this.settle(`CALLERROR ${frame[2]}`);
    } else if (type === 2) {
      this.totals.serverCalls++;
      const [, id, action, payload] = frame;
      let answer = {};
      if (action === 'DataTransfer') {
        this.totals.rpcAnswered++;
        answer = { status: 'Accepted', data: typeof payload?.data === 'string' ? payload.data : '{}' };
      }
      ws.send(JSON.stringify([3, id, answer]));
    }
  }

  terminate() {
    const ws = this.ws;
    this.ws = undefined;
    ws?.terminate();
  }

  /**
   * Drops the connection the way a power cut or a network blip looks to the Central System: a TCP
   * reset, no close frame. Unlike a FIN it leaves no TIME_WAIT on our side, so repeated storms do
   * not eat the ephemeral port range.
   */
  drop() {
    const ws = this.ws;
    this.ws = undefined;
    if (!ws) return;
    // ws has no public way to reset the socket; _socket is stable across ws 8.x.
    const socket = ws._socket;
    if (socket?.resetAndDestroy) socket.resetAndDestroy();
    else ws.terminate();
  }
}

/**
 * A MeterValues payload with 4 sampled values. The Energy register carries
 * seq = epoch·1e12 + charge point index·1e7 + k: unique per message, so the harness can match
 * what arrives on MQTT to its CALL, and the epoch (one per measured window) lets it ignore late
 * arrivals from an earlier window.
 */
export function meterValues(cp, epoch) {
  const seq = epoch * 1e12 + cp.index * 1e7 + ++cp.seq;
  const sampled = (value, measurand, unit) => ({ value, context: 'Sample.Periodic', measurand, unit });
  return {
    seq,
    payload: {
      connectorId: 1,
      transactionId: 1,
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [
            sampled((228 + (seq % 40) / 10).toFixed(1), 'Voltage', 'V'),
            sampled('16.0', 'Current.Import', 'A'),
            sampled('3680', 'Power.Active.Import', 'W'),
            sampled(String(seq), 'Energy.Active.Import.Register', 'Wh'),
          ],
        },
      ],
    },
  };
}
