/**
 * npm's "prepare" step (after `npm ci` / `npm install` in a clone, and before `npm pack`): builds
 * dist/ with the TypeScript compiler. With `npm ci --omit=dev` there is no compiler: then dist/
 * must come from a build that had one (a Dockerfile build stage, or the published tarball), and
 * this says so instead of failing the install with "tsc: not found".
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  const built = existsSync(join(root, 'dist', 'cli.js'));
  console.log(
    `prepare: TypeScript is not installed (dev dependencies omitted): dist/ not rebuilt` +
      (built ? ' (the existing build is used)' : '; run `npm ci && npm run build` to build it'),
  );
  process.exit(0);
}
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
