/**
 * The gateway's upload URLs on a node:http server on 127.0.0.1: one token per request, a file per
 * station folder, and URLs that expire, run out of files, or were never issued answered 404.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { LogUploads, stationFolder, type UploadArrival } from '../../src/status/uploads.js';
import { TempDir } from '../helpers/gateway-process.js';

describe('LogUploads', () => {
  let dir: TempDir;
  let server: Server;
  let uploads: LogUploads;
  let now = Date.parse('2026-03-01T12:00:00Z');
  const arrivals: UploadArrival[] = [];
  const put = async (url: string, body = 'log'): Promise<number> =>
    (await fetch(url, { method: 'PUT', body })).status;

  beforeEach(async () => {
    dir = new TempDir();
    arrivals.length = 0;
    uploads = new LogUploads({
      config: { folder: join(dir.path, 'up'), maxBytes: 100, urlValiditySeconds: 60 },
      logger: silentLogger(),
      onArrival: (a) => arrivals.push(a),
      now: () => now,
    });
    server = createServer((req, res) => {
      if (!uploads.handler(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    uploads.listening(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
  });

  afterEach(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    dir.remove();
  });

  const issue = (chargePointId: string, requestId?: number): string => {
    const issued = uploads.issue({
      connector: 'c',
      chargePointId,
      action: 'GetLog',
      ...(requestId ? { requestId } : {}),
    });
    if ('error' in issued) throw new Error(issued.error);
    return issued.url;
  };

  it('stores a file under the station folder and reports it with its request', async () => {
    const url = issue('site/CP 1', 5);
    expect(await put(`${url}a.log`, 'hello')).toBe(201);
    const folder = stationFolder('site/CP 1');
    expect(readFileSync(join(dir.path, 'up', folder, 'a.log'), 'utf8')).toBe('hello');
    expect(arrivals).toEqual([
      {
        connector: 'c',
        chargePointId: 'site/CP 1',
        action: 'GetLog',
        requestId: 5,
        file: `${folder}/a.log`,
        bytes: 5,
      },
    ]);
  });

  it('each request gets its own URL; an expired one is 404 and stores nothing', async () => {
    const first = issue('CP_1');
    expect(issue('CP_1')).not.toBe(first);
    now += 61_000;
    expect(await put(`${first}late.log`)).toBe(404);
    expect(existsSync(join(dir.path, 'up', 'CP_1', 'late.log'))).toBe(false);
    expect(uploads.counters).toMatchObject({ unknownUrl: 1, stored: 0, urlsIssued: 2 });
    expect(uploads.validUrls).toBe(0);
  });

  it('a URL takes a bounded number of files', async () => {
    const url = issue('CP_2');
    const statuses: number[] = [];
    for (let i = 0; i < 17; i++) statuses.push(await put(`${url}part-${i}.log`));
    expect(statuses.filter((s) => s === 201)).toHaveLength(16);
    expect(statuses.at(-1)).toBe(404);
  });

  it.each([
    ['CP_1', 'CP_1'],
    ['site/CP_1', 'site_CP_1-'],
    ['..', '__-'],
    ['__proto__', '__proto__'],
    ['', 'cp-'],
  ])('stationFolder(%j) is one safe segment starting %j', (id, start) => {
    const folder = stationFolder(id);
    expect(folder.startsWith(start)).toBe(true);
    expect(folder).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/);
  });

  it('ids that differ never share a folder', () => {
    expect(stationFolder('a/b')).not.toBe(stationFolder('a_b'));
    expect(stationFolder('a/b')).not.toBe(stationFolder('a.b'));
  });

  it('says why it has no URL before the server listens', () => {
    const idle = new LogUploads({
      config: { folder: dir.path, maxBytes: 1, urlValiditySeconds: 60 },
      logger: silentLogger(),
      onArrival: () => undefined,
    });
    expect(idle.issue({ connector: 'c', chargePointId: 'x', action: 'GetLog' })).toEqual({
      error: expect.stringContaining('status server is not running'),
    });
  });
});
