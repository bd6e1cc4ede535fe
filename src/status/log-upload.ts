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
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve, sep } from 'node:path';
import type { Logger } from '../log.js';

export interface LogUploadOptions {
  /** The folder uploads are stored in (created when needed). */
  dir: string;
  /** Largest accepted body, bytes. */
  maxBytes: number;
  maxConcurrent?: number;
  logger: Logger;
  /** Called once a file is stored, e.g. to report its arrival to ThingsBoard. */
  onUploaded?(upload: { path: string; folder: string | undefined; file: string; bytes: number }): void;
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

export function createLogUploadHandler(opts: LogUploadOptions): RequestHandler {
  const root = resolve(opts.dir);
  const maxConcurrent = opts.maxConcurrent ?? 8;
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
    if (segments.length < 1 || segments.length > 2 || !segments.every((s) => SEGMENT.test(s))) {
      answer(res, 400, 'expected /uploads/<file> or /uploads/<folder>/<file> (letters, digits, . _ -)');
      req.resume();
      return true;
    }
    const target = resolve(root, ...segments);
    // The pattern already forbids it; this states the invariant where it matters.
    if (!target.startsWith(root + sep)) {
      answer(res, 400, 'bad path');
      req.resume();
      return true;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      refuseBody(req, res, 413, `larger than ${opts.maxBytes} bytes`);
      return true;
    }
    if (active >= maxConcurrent) {
      res.setHeader('Retry-After', '30');
      refuseBody(req, res, 503, 'too many uploads at once');
      return true;
    }
    active++;
    void store(req, res, target, segments).finally(() => active--);
    return true;
  };

  async function store(
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    segments: string[],
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
        req.once('error', fail);
        out.once('error', fail);
        out.once('finish', () => done());
        req.pipe(out);
      });
      await rename(temporary, target);
    } catch (err) {
      await rm(temporary, { force: true });
      const status = (err as { status?: number }).status ?? 500;
      opts.logger.warn(
        { file: segments.join('/'), bytes, reason: (err as Error).message },
        'log upload refused',
      );
      refuseBody(req, res, status, (err as Error).message);
      return;
    }
    opts.logger.info({ file: segments.join('/'), bytes }, 'log uploaded');
    opts.onUploaded?.({
      path: target,
      folder: segments.length === 2 ? segments[0] : undefined,
      file: segments[segments.length - 1] ?? '',
      bytes,
    });
    answer(res, 201, 'stored');
  }
}
