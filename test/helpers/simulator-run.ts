/**
 * `tb-ocpp-gateway simulate` from the built CLI (dist/cli.js), run to its end, its JSON log kept.
 */
import { spawn } from 'node:child_process';
import { CLI } from './gateway-process.js';

/** How a simulator run ended: its exit code and every JSON log line it wrote (stdout and stderr). */
export interface SimulatorRun {
  code: number | null;
  logs: Record<string, unknown>[];
}

/** Runs `simulate …args --progress 0` with LOG_LEVEL info until the process exits. */
export function runSimulator(args: string[]): Promise<SimulatorRun> {
  const child = spawn(process.execPath, [CLI, 'simulate', ...args, '--progress', '0'], {
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) =>
      resolve({
        code,
        logs: out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    ),
  );
}
