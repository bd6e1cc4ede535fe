/**
 * The example ocpp.json of the README (a small public charging site) is a valid configuration for
 * the built CLI, and the README shows exactly that file.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, TempDir } from '../helpers/gateway-process.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = resolve(ROOT, 'config/examples/public-site-ocpp.json');

describe('config/examples/public-site-ocpp.json', () => {
  const dir = new TempDir();
  afterAll(() => dir.remove());

  it('passes check-config', async () => {
    const gateway = dir.write('tb_gateway.json', {
      thingsboard: { host: '127.0.0.1', port: 1883, security: { accessToken: 'GW_TOKEN' } },
      storage: { type: 'memory' },
      connectors: [{ type: 'ocpp', name: 'Harbour', configuration: EXAMPLE }],
    });
    const { stdout } = await run(process.execPath, [CLI, 'check-config', '--config', gateway], { cwd: ROOT });
    expect(stdout).toContain('configuration is valid');
  });

  it('is the example the README shows', () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Example: a small public charging site'));
    const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    expect(block).toBeDefined();
    expect(JSON.parse(block ?? '')).toEqual(JSON.parse(readFileSync(EXAMPLE, 'utf8')));
  });
});
