/**
 * The operator's HTTP surface (node:http, no framework): the status page, its JSON API and event
 * stream, /metrics, /healthz and /readyz. It reads the gateway's status; the one thing it can
 * ask is a frame trace of a charge point (a diagnostic, never configuration).
 *
 * Charge point ids in paths are untrusted: they are only ever looked up in Maps and escaped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { StatusServerConfig } from '../config/types.js';
import { ErrorCodes, GatewayError } from '../errors.js';
import { MAX_TRACE_MINUTES } from '../connector/views.js';
import type { Logger } from '../log.js';
import { STYLE, SCRIPT } from './assets.js';
import { BasicAuth, REALM } from './auth.js';
import { EventHub } from './events.js';
import type { RequestHandler } from './log-upload.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { StatusSource } from './model.js';
import { chargePointHref, renderChargePoint, renderOverview } from './page.js';
import { overviewSnapshot } from './snapshot.js';

export interface StatusServerOptions {
  config: StatusServerConfig;
  source: StatusSource;
  logger: Logger;
  version: string;
  /** Event stream interval (tests shorten it). */
  eventIntervalMs?: number;
  /** Receives station log uploads under /uploads/ (statusServer.uploads). */
  uploads?: { handler: RequestHandler };
}

/** Largest request body accepted (POST /api/trace). */
const MAX_BODY_BYTES = 4096;
/** Longest charge point id accepted in a trace request (ids longer than this never connect). */
const MAX_ID_LENGTH = 1024;
/** Paths that answer without credentials: probes must work without secrets, and reveal nothing. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Cache-Control': 'no-store',
};

export class StatusServer {
  private readonly opts: StatusServerOptions;
  private readonly http: Server;
  private readonly auth: BasicAuth | undefined;
  private readonly metrics: Metrics;
  private readonly events: EventHub;
  private url: string | undefined;

  constructor(opts: StatusServerOptions) {
    this.opts = opts;
    this.auth = opts.config.auth ? new BasicAuth(opts.config.auth) : undefined;
    this.metrics = createMetrics(opts.source, opts.version);
    this.events = new EventHub(opts.source, opts.eventIntervalMs);
    this.http = createServer((req, res) => this.handle(req, res));
    this.http.headersTimeout = 10_000;
    // An upload of tens of MB from a station on a slow link takes minutes; a stalled one is cut by
    // the upload handler's idle timeout instead.
    this.http.requestTimeout = opts.uploads ? 15 * 60_000 : 30_000;
    this.http.maxConnections = 256;
  }

  /** Listens; resolves with the base URL (also logged, so tests read a port-0 binding from the log). */
  async start(): Promise<string> {
    const { host, port } = this.opts.config;
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen({ port, host }, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.http.on('error', (err) => this.opts.logger.error({ err }, 'status server error'));
    const address = this.http.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.url = `http://${shownHost}:${bound}/`;
    this.opts.logger.info(
      { url: this.url, auth: this.auth !== undefined },
      'status server listening: status page, /metrics, /healthz, /readyz',
    );
    return this.url;
  }

  async stop(): Promise<void> {
    if (this.url === undefined) return;
    this.url = undefined;
    this.events.close();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.route(req, res);
    } catch (err) {
      this.opts.logger.error({ err, url: req.url }, 'status server request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://status.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    // Stations upload without the operator's login: each upload URL carries its own token (see
    // status/uploads.ts). The handler owns every raw /uploads/ path, so nothing else is reachable
    // this way.
    if (this.opts.uploads?.handler(req, res)) return;
    if (!OPEN_PATHS.has(path) && this.auth && !this.auth.admits(req)) {
      res.writeHead(401, {
        'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"`,
        'Content-Type': 'text/plain',
      });
      res.end('credentials required\n');
      return;
    }
    if (method === 'POST' && path === '/api/trace') return this.postTrace(req, res);
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    const { source } = this.opts;
    switch (path) {
      case '/':
        return send(res, 200, 'text/html', renderOverview(overviewSnapshot(source)));
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        const readiness = source.readiness();
        return sendJson(res, readiness.ready ? 200 : 503, readiness);
      }
      case '/metrics':
        void this.sendMetrics(res);
        return;
      case '/api/status':
        return sendJson(res, 200, source.status());
      case '/api/chargepoints': {
        const all = source.chargePoints();
        return sendJson(res, 200, { total: all.length, chargePoints: all });
      }
      case '/api/events': {
        // A HEAD stream would never send its headers (Node writes no body for HEAD) and hold a
        // place among the streams for as long as the client waits: headers only, then done.
        if (method === 'HEAD') return send(res, 200, 'text/event-stream', '');
        const id = url.searchParams.get('chargePoint') ?? undefined;
        if (!this.events.open(req, res, id)) send(res, 503, 'text/plain', 'too many open status pages\n');
        return;
      }
      case '/static/app.js':
        return send(res, 200, 'text/javascript', SCRIPT);
      case '/static/style.css':
        return send(res, 200, 'text/css', STYLE);
    }
    if (path.startsWith('/api/chargepoints/')) {
      const id = decodePathRest(path, '/api/chargepoints/');
      const detail = id === undefined ? undefined : source.chargePoint(id);
      if (detail) return sendJson(res, 200, detail);
      return sendJson(res, 404, { error: 'no live charge point with this id' });
    }
    if (path.startsWith('/chargepoints/')) return this.chargePointPage(path, res);
    send(res, 404, 'text/plain', 'not found\n');
  }

  /** `/chargepoints/<id>`; an id given with its slashes unencoded is redirected to the one-segment form. */
  private chargePointPage(path: string, res: ServerResponse): void {
    const rest = path.slice('/chargepoints/'.length);
    const id = decodePathRest(path, '/chargepoints/');
    if (id === undefined || id === '') return send(res, 404, 'text/plain', 'not found\n');
    if (rest.includes('/')) {
      const up = '../'.repeat(rest.split('/').length - 1);
      res.writeHead(302, { Location: up + chargePointHref(id).slice('chargepoints/'.length) });
      res.end();
      return;
    }
    const { source } = this.opts;
    send(res, 200, 'text/html', renderChargePoint(source.status(), id, source.chargePoint(id)));
  }

  private async sendMetrics(res: ServerResponse): Promise<void> {
    try {
      const text = await this.metrics.render();
      send(res, 200, this.metrics.contentType, text);
    } catch (err) {
      this.opts.logger.error({ err }, 'collecting metrics failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'metrics unavailable\n');
    }
  }

  /**
   * `{"chargePointId": "...", "minutes": 10}` (0 stops). JSON only: a cross-site form cannot send
   * that content type, and no CORS preflight is ever answered, so another site cannot start traces.
   */
  private postTrace(req: IncomingMessage, res: ServerResponse): void {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      return sendJson(res, 415, { error: 'send a JSON body with Content-Type: application/json' });
    }
    readBody(req, MAX_BODY_BYTES).then(
      (text) => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return sendJson(res, 400, { error: 'body is not JSON' });
        }
        const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
        const id = b.chargePointId;
        const minutes = b.minutes ?? 10;
        if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) {
          return sendJson(res, 400, { error: '"chargePointId" must be a non-empty string' });
        }
        if (typeof minutes !== 'number' || !(minutes >= 0 && minutes <= MAX_TRACE_MINUTES)) {
          return sendJson(res, 400, { error: `"minutes" must be a number from 0 to ${MAX_TRACE_MINUTES}` });
        }
        let until: Date | undefined;
        try {
          until = this.opts.source.trace(id, minutes);
        } catch (err) {
          if (err instanceof GatewayError && err.code === ErrorCodes.TRACE_LIMIT) {
            return sendJson(res, 429, { error: err.message });
          }
          // Inside a promise callback: answered here, never left as an unhandled rejection.
          this.opts.logger.error({ err }, 'frame trace request failed');
          return sendJson(res, 500, { error: 'internal error' });
        }
        sendJson(res, 200, { chargePointId: id, tracedUntil: until?.toISOString() ?? null });
      },
      (err: Error) => {
        // Too large: 413, then the rest of the body is dropped. A body that broke off (aborted,
        // malformed chunking) is a 400 when anyone is still there to read it.
        if (res.headersSent || res.destroyed) return;
        if (err instanceof BodyTooLarge) {
          // Read and drop the rest, up to a bound past which the connection is cut: closing
          // while the client still sends would break its write before it reads the answer.
          discardBody(req, DISCARD_BYTES);
          sendJson(res, 413, { error: err.message });
        } else {
          res.setHeader('Connection', 'close');
          res.once('finish', () => req.destroy());
          sendJson(res, 400, { error: 'the request body could not be read' });
        }
      },
    );
  }
}

function decodePathRest(path: string, prefix: string): string | undefined {
  try {
    return decodeURIComponent(path.slice(prefix.length));
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type.includes('charset') ? type : `${type}; charset=utf-8`,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value));
}

class BodyTooLarge extends Error {}

/** What is read and dropped of a body refused as too large before the connection is cut. */
const DISCARD_BYTES = 1 << 20;

function discardBody(req: IncomingMessage, limit: number): void {
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limit) req.destroy();
  });
  req.resume();
}

/** The request body as text; rejects with BodyTooLarge past `limit` bytes, or the stream's error. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) {
      reject(new BodyTooLarge(`body larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        reject(new BodyTooLarge(`body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
