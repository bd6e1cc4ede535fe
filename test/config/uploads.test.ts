/**
 * statusServer.uploads (ours): off unless given; the folder relative to tb_gateway.json; the URL
 * stations reach the gateway at; every mistake a problem at its path.
 */
import { describe, expect, it } from 'vitest';
import { checkConfig, loadConfig } from '../../src/config/load.js';
import { aGatewayJson, anOcppJson, useConfigDir } from './fixtures.js';

const configDir = useConfigDir();
type Json = Record<string, unknown>;

const withUploads = (uploads: unknown, status: Json = {}) =>
  aGatewayJson({ statusServer: { ...status, uploads } });

function problems(gateway: Json) {
  const result = checkConfig(configDir().files(gateway, anOcppJson()), {});
  return result.ok ? [] : result.problems.map((p) => ({ path: p.path, message: p.message }));
}

describe('statusServer.uploads', () => {
  it('is off without the key, and with "enabled": false', () => {
    expect(loadConfig(configDir().files(), {}).statusServer.uploads).toBeUndefined();
    expect(
      loadConfig(configDir().files(withUploads({ enabled: false })), {}).statusServer.uploads,
    ).toBeUndefined();
  });

  it('given, it is on with its defaults; the folder is relative to tb_gateway.json', () => {
    const dir = configDir();
    const config = loadConfig(dir.files(withUploads({})), {});
    expect(config.statusServer.uploads).toEqual({
      folder: dir.path('uploads'),
      maxBytes: 50 * 1024 * 1024,
      urlValiditySeconds: 3600,
    });
    // On the loopback interface only local stations reach the URLs it hands out: said at start.
    expect(config.notices.filter((n) => n.level === 'warn').map((n) => n.message)).toEqual([
      expect.stringContaining('statusServer.uploads: upload URLs name 127.0.0.1'),
    ]);
  });

  it('reads folder, maxBytes, urlValidity and publicUrl (made to end with "/")', () => {
    const config = loadConfig(
      configDir().files(
        withUploads(
          {
            folder: '/var/lib/tb-gw/logs',
            maxBytes: 1024,
            urlValidity: 120,
            publicUrl: 'https://gw.example/ops',
          },
          { host: '0.0.0.0', username: 'u', password: 'p' },
        ),
      ),
      {},
    );
    expect(config.statusServer.uploads).toEqual({
      folder: '/var/lib/tb-gw/logs',
      maxBytes: 1024,
      urlValiditySeconds: 120,
      publicUrl: 'https://gw.example/ops/',
    });
    expect(config.notices.filter((n) => n.level === 'warn')).toEqual([]);
  });

  it.each([
    [{ maxBytes: 0 }, {}, '$.statusServer.uploads.maxBytes', 'at least 1'],
    [{ urlValidity: 10 }, {}, '$.statusServer.uploads.urlValidity', 'at least 60'],
    [{ publicUrl: 'ftp://gw.example/' }, {}, '$.statusServer.uploads.publicUrl', 'http:// or https://'],
    [{ publicUrl: 'http://u:p@gw.example/' }, {}, '$.statusServer.uploads.publicUrl', 'without credentials'],
    [
      {},
      { host: '0.0.0.0', username: 'u', password: 'p' },
      '$.statusServer.uploads.publicUrl',
      'required when',
    ],
    [{}, { enabled: false }, '$.statusServer.uploads.enabled', 'set statusServer.enabled'],
    [{ folder: 'tb_gateway.json' }, {}, '$.statusServer.uploads.folder', 'is not a folder'],
  ] as [Json, Json, string, string][])('%j %j → problem at %s', (uploads, status, path, message) => {
    expect(problems(withUploads(uploads, status))).toEqual([
      { path, message: expect.stringContaining(message) },
    ]);
  });

  it('a misspelt key in it is warned about with the closest one', () => {
    const config = loadConfig(configDir().files(withUploads({ maxbytes: 5 })), {});
    expect(config.notices.map((n) => n.message)).toContainEqual(
      expect.stringMatching(/unknown key "statusServer\.uploads\.maxbytes".*maxBytes/),
    );
  });
});
