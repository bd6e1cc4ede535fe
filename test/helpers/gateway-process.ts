/**
 * Runs the built CLI (dist/cli.js) as a child process, the way users and supervisors run it,
 * with configuration files written into a temporary folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A free loopback port (bound then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'tb-ocpp-'));
  write(name: string, content: unknown): string {
    const file = join(this.path, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export class GatewayProcess {
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  /** `cli`: another build of the CLI (an installed package, a container's runtime tree). */
  constructor(args: string[], env: Record<string, string> = {}, cli = CLI, cwd?: string) {
    this.child = spawn(process.execPath, [cli, ...args], {
      ...(cwd === undefined ? {} : { cwd }),
      // The status server listens on a free port, so parallel gateways never race for its default.
      env: { ...process.env, LOG_LEVEL: 'debug', TB_GW_STATUS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line
        }
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  static run(configFile: string, env?: Record<string, string>): GatewayProcess {
    return new GatewayProcess(['--config', configFile], env);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async waitForLog(
    predicate: (l: LogLine) => boolean,
    timeoutMs = 15_000,
    what = 'log line',
  ): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const found = this.logs.find(predicate);
      if (found) return found;
      if (exited || Date.now() > deadline) {
        throw new Error(
          `no ${what} (exited=${exited})\nstdout:\n${this.stdout.slice(-4000)}\nstderr:\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits until the gateway logged that it started. */
  async started(): Promise<void> {
    await this.waitForLog((l) => l.msg === 'gateway started', 20_000, '"gateway started"');
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
