/**
 * Live updates for the status page: Server-Sent Events, one snapshot a second to each open page.
 * The overview snapshot is built once per tick however many pages watch; a page watching one
 * charge point gets that charge point's detail (which keeps its frame capture alive). Bounded:
 * a few dozen streams at most, and a stream whose client stops reading is dropped.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StatusSource } from './model.js';
import { overviewSnapshot } from './snapshot.js';

export const EVENT_INTERVAL_MS = 1000;
/** Open event streams at once (each is a browser tab). */
export const MAX_STREAMS = 32;
/** Bytes queued to one slow stream before it is dropped. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

interface Stream {
  res: ServerResponse;
  chargePoint: string | undefined;
}

export class EventHub {
  private readonly streams = new Set<Stream>();
  private timer: NodeJS.Timeout | undefined;
  private readonly source: StatusSource;
  private readonly intervalMs: number;

  constructor(source: StatusSource, intervalMs = EVENT_INTERVAL_MS) {
    this.source = source;
    this.intervalMs = intervalMs;
  }

  /** Opens a stream; false (and nothing written) when too many are open. */
  open(req: IncomingMessage, res: ServerResponse, chargePoint: string | undefined): boolean {
    if (this.streams.size >= MAX_STREAMS) return false;
    const stream: Stream = { res, chargePoint };
    this.streams.add(stream);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // Reverse proxies (nginx) would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    req.socket.setNoDelay(true);
    req.on('close', () => this.drop(stream));
    this.send(stream, undefined);
    this.timer ??= setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    return true;
  }

  get size(): number {
    return this.streams.size;
  }

  close(): void {
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private drop(stream: Stream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    let overview: string | undefined;
    for (const s of this.streams) {
      if (s.chargePoint === undefined) overview ??= JSON.stringify(overviewSnapshot(this.source));
      this.send(s, overview);
    }
  }

  private send(stream: Stream, overview: string | undefined): void {
    const { res } = stream;
    if (res.writableLength > MAX_QUEUED_BYTES) {
      // The client stopped reading: free what it holds; the page's EventSource reconnects if alive.
      res.destroy();
      this.drop(stream);
      return;
    }
    let data: string;
    if (stream.chargePoint === undefined) data = overview ?? JSON.stringify(overviewSnapshot(this.source));
    else {
      const detail = this.source.chargePoint(stream.chargePoint);
      data = JSON.stringify({ status: this.source.status(), chargePoint: detail ?? null });
    }
    res.write(`data: ${data}\n\n`);
  }
}
