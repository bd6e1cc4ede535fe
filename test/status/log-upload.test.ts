/**
 * The log upload handler on its own node:http server on 127.0.0.1: what it stores, what it
 * refuses (paths that would leave the folder, oversized bodies, other methods), and that it leaves
 * every other request to the server it is mounted on.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createLogUploadHandler } from '../../src/status/log-upload.js';
import { TempDir } from '../helpers/gateway-process.js';
import { capturingLogger } from '../outbox/helpers.js';

function send(
  port: number,
  method: string,
  path: string,
  body = '',
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

describe('log upload handler', () => {
  let dir: TempDir;
  let server: Server;
  let port = 0;
  const uploaded: unknown[] = [];

  beforeEach(async () => {
    dir = new TempDir();
    uploaded.length = 0;
    const handle = createLogUploadHandler({
      dir: join(dir.path, 'uploads'),
      maxBytes: 1024,
      logger: silentLogger(),
      onUploaded: (u) => uploaded.push(u),
    });
    server = createServer((req, res) => {
      if (handle(req, res)) return;
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });

  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    dir.remove();
  });

  it.each([
    ['PUT', '/uploads/CP_1/security.log'],
    ['POST', '/uploads/diagnostics-7.zip'],
  ])('%s %s stores the body and reports it', async (method, path) => {
    expect(await send(port, method, path, 'log line 1\nlog line 2\n')).toEqual({
      status: 201,
      text: 'stored\n',
    });
    const file = join(dir.path, 'uploads', ...path.slice('/uploads/'.length).split('/'));
    expect(readFileSync(file, 'utf8')).toBe('log line 1\nlog line 2\n');
    expect(uploaded).toEqual([expect.objectContaining({ path: file, bytes: 22 })]);
  });

  it.each([
    ['a parent folder', '/uploads/../escape.log', 400],
    ['an encoded parent folder', '/uploads/%2E%2E/escape.log', 400],
    ['an encoded slash', '/uploads/a%2F..%2F..%2Fescape.log', 400],
    ['a hidden file', '/uploads/.profile', 400],
    ['three segments', '/uploads/a/b/c.log', 400],
    ['an empty name', '/uploads/', 400],
  ])('refuses %s (%s) with %i and writes nothing', async (_what, path, status) => {
    expect((await send(port, 'PUT', path, 'x')).status).toBe(status);
    expect(existsSync(join(dir.path, 'escape.log'))).toBe(false);
    expect(existsSync(join(dir.path, 'uploads')) ? readdirSync(join(dir.path, 'uploads')) : []).toEqual([]);
  });

  it('refuses a body over maxBytes with 413 and keeps nothing, declared or streamed', async () => {
    expect((await send(port, 'PUT', '/uploads/big.log', 'x'.repeat(1025))).status).toBe(413);
    const streamed = await new Promise<number>((resolve, reject) => {
      // Chunked: no Content-Length, so only the bytes counted on the way can tell.
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/uploads/big2.log' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.once('error', reject);
      req.write('x'.repeat(800));
      req.end('y'.repeat(800));
    });
    expect(streamed).toBe(413);
    expect(readdirSync(join(dir.path, 'uploads'))).toEqual([]);
  });

  it('answers 405 to other methods and leaves other paths to the server', async () => {
    expect((await send(port, 'GET', '/uploads/a.log')).status).toBe(405);
    expect((await send(port, 'GET', '/status')).status).toBe(404);
  });

  it('a report of the arrival that throws leaves the file stored and answered (no unhandled rejection)', async () => {
    const { logger, lines } = capturingLogger();
    const handle = createLogUploadHandler({
      dir: join(dir.path, 'other'),
      maxBytes: 1024,
      logger,
      onUploaded: () => {
        throw new Error('ThingsBoard side broke');
      },
    });
    const other = createServer((req, res) => void handle(req, res));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    try {
      const otherPort = (other.address() as { port: number }).port;
      expect((await send(otherPort, 'PUT', '/uploads/CP_1/a.log', 'x')).status).toBe(201);
      expect(readFileSync(join(dir.path, 'other', 'CP_1', 'a.log'), 'utf8')).toBe('x');
      expect(lines.map((l) => l.msg)).toContain('reporting a log upload failed');
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});
