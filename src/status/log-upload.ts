/**
 * Where stations can upload the logs a GetLog / GetDiagnostics asks for (OCPP 2.0.1 N01, 1.6
 * whitepaper N01; 1.6 GetDiagnostics): `PUT` or `POST /uploads/<folder>/<file>` (one or two path
 * segments) stores the body under the upload folder, so that logs land beside the gateway. A
 * request handler to mount on the status HTTP server: it answers the requests it owns and returns
 * true, and returns false for every other one.
 *
 * Bounded: one body at most `maxBytes` (413 beyond, nothing kept), at most `maxConcurrent`
 * uploads at once (503 beyond). Names are restricted to one safe segment each, so a path can never
 * leave the folder. A body is written to a temporary file and renamed when complete: a reader never
 * sees half a log. The body is stored as received (a multipart POST stays multipart).
 *
 * With `admit` (the gateway's upload URLs, status/uploads.ts) the first segment is a per-request
 * token: `admit` decides whether the URL is valid and where under the folder the file goes; an
 * unknown or expired URL is 404. `/uploads/<token>/` (the URL as handed out) and
 * `/uploads/<token>/<file>` (a station appending its file name) are both accepted.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve, sep } from 'node:path';
import type { Logger } from '../log.js';

/** What an admitted upload URL stands for, and where its file goes. */
export interface UploadGrant<C> {
  /** Path segments under the folder (each one safe segment); the file name last. */
  store: string[];
  context: C;
}

/** Uploads by outcome. */
export interface UploadCounters {
  stored: number;
  bytesStored: number;
  /** 404: an unknown or expired upload URL. */
  unknownUrl: number;
  /** 400: a path that is not an upload path. */
  badPath: number;
  /** 413. */
  tooLarge: number;
  /** 503: too many at once. */
  busy: number;
  /** Aborted, or the file could not be written. */
  failed: number;
}

export function newUploadCounters(): UploadCounters {
  return { stored: 0, bytesStored: 0, unknownUrl: 0, badPath: 0, tooLarge: 0, busy: 0, failed: 0 };
}

export interface LogUploadOptions<C = undefined> {
  /** The folder uploads are stored in (created when needed). */
  dir: string;
  /** Largest accepted body, bytes. */
  maxBytes: number;
  maxConcurrent?: number;
  logger: Logger;
  /** Called once a file is stored, e.g. to report its arrival to ThingsBoard. */
  onUploaded?(upload: {
    path: string;
    folder: string | undefined;
    file: string;
    bytes: number;
    /** The grant's context, when `admit` admitted the URL. */
    context?: C;
  }): void;
  /** Token URLs: the grant for these URL segments (after `/uploads/`), or undefined (→ 404). */
  admit?(segments: string[]): UploadGrant<C> | undefined;
  counters?: UploadCounters;
  /** A body that sends nothing for this long is aborted (ms). Default 60 s. */
  idleTimeoutMs?: number;
}

const PREFIX = '/uploads/';
/** One path segment: letters, digits, `._-`, not starting with a dot (no `..`, no hidden files). */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

function answer(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'text/plain', Connection: 'close' });
  res.end(text + '\n');
}

/** Answers, then drops the rest of a body nobody will read. */
function refuseBody(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  res.once('finish', () => req.destroy());
  answer(res, status, text);
}

export function createLogUploadHandler<C = undefined>(opts: LogUploadOptions<C>): RequestHandler {
  const root = resolve(opts.dir);
  const maxConcurrent = opts.maxConcurrent ?? 8;
  const counters = opts.counters ?? newUploadCounters();
  let active = 0;

  return (req, res) => {
    const path = (req.url ?? '').split('?', 1)[0] ?? '';
    if (!path.startsWith(PREFIX)) return false;
    if (req.method !== 'PUT' && req.method !== 'POST') {
      res.setHeader('Allow', 'PUT, POST');
      answer(res, 405, 'upload with PUT or POST');
      return true;
    }
    let segments: string[];
    try {
      segments = path.slice(PREFIX.length).split('/').map(decodeURIComponent);
    } catch {
      segments = [];
    }
    // A token URL as handed out ends with "/": the station may post to it as it is.
    if (opts.admit && segments.length === 2 && segments[1] === '') segments = segments.slice(0, 1);
    const wellFormed = segments.length >= 1 && segments.length <= 2 && segments.every((s) => SEGMENT.test(s));
    let grant: UploadGrant<C> | undefined;
    if (wellFormed && opts.admit) {
      grant = opts.admit(segments);
      if (grant === undefined) {
        counters.unknownUrl++;
        refuseBody(req, res, 404, 'no such upload URL (unknown or expired)');
        return true;
      }
      segments = grant.store;
    }
    if (!wellFormed || !segments.every((s) => SEGMENT.test(s))) {
      counters.badPath++;
      answer(res, 400, 'expected /uploads/<file> or /uploads/<folder>/<file> (letters, digits, . _ -)');
      req.resume();
      return true;
    }
    const target = resolve(root, ...segments);
    // The pattern already forbids it; this states the invariant where it matters.
    if (!target.startsWith(root + sep)) {
      counters.badPath++;
      answer(res, 400, 'bad path');
      req.resume();
      return true;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      counters.tooLarge++;
      refuseBody(req, res, 413, `larger than ${opts.maxBytes} bytes`);
      return true;
    }
    if (active >= maxConcurrent) {
      counters.busy++;
      res.setHeader('Retry-After', '30');
      refuseBody(req, res, 503, 'too many uploads at once');
      return true;
    }
    active++;
    void store(req, res, target, segments, grant).finally(() => active--);
    return true;
  };

  async function store(
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    segments: string[],
    grant: UploadGrant<C> | undefined,
  ): Promise<void> {
    const temporary = join(
      resolve(target, '..'),
      `.${segments[segments.length - 1] ?? 'upload'}.${process.pid}.${Date.now()}.part`,
    );
    let bytes = 0;
    try {
      await mkdir(resolve(target, '..'), { recursive: true });
      await new Promise<void>((done, fail) => {
        const out = createWriteStream(temporary, { flags: 'wx' });
        req.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > opts.maxBytes) {
            req.unpipe(out);
            out.destroy();
            fail(Object.assign(new Error(`larger than ${opts.maxBytes} bytes`), { status: 413 }));
          }
        });
        req.once('aborted', () => fail(new Error('upload aborted')));
        // A station that stops sending holds a slot and a file: give both back.
        req.setTimeout(opts.idleTimeoutMs ?? 60_000, () => {
          fail(new Error('upload stalled'));
          req.destroy();
        });
        req.once('error', fail);
        out.once('error', fail);
        out.once('finish', () => done());
        req.pipe(out);
      });
      await rename(temporary, target);
    } catch (err) {
      await rm(temporary, { force: true });
      const status = (err as { status?: number }).status ?? 500;
      counters[status === 413 ? 'tooLarge' : 'failed']++;
      opts.logger.warn(
        { file: segments.join('/'), bytes, reason: (err as Error).message },
        'log upload refused',
      );
      refuseBody(req, res, status, (err as Error).message);
      return;
    }
    counters.stored++;
    counters.bytesStored += bytes;
    opts.logger.info({ file: segments.join('/'), bytes }, 'log uploaded');
    try {
      opts.onUploaded?.({
        path: target,
        folder: segments.length === 2 ? segments[0] : undefined,
        file: segments[segments.length - 1] ?? '',
        bytes,
        ...(grant ? { context: grant.context } : {}),
      });
    } catch (err) {
      // The file is stored; a failing report must not become an unhandled rejection (fatal).
      opts.logger.error({ err, file: segments.join('/') }, 'reporting a log upload failed');
    }
    answer(res, 201, 'stored');
  }
}
