#!/usr/bin/env node
/**
 * tb-ocpp-gateway — the command line. Exit codes: 0 normal stop, 1 runtime failure (e.g. port in
 * use), 2 bad configuration or unusable storage (so a supervisor does not crash-loop on it), 75
 * graceful stop asked for by ThingsBoard (gateway_restart) for the supervisor to start it again.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { checkConfig } from './config/load.js';
import { formatProblem, GatewayError } from './errors.js';
import { Gateway } from './gateway.js';
import { LogTap } from './gateway-device/log-tap.js';
import { EXIT_RESTART } from './gateway-device/service-rpc.js';
import { createLogger } from './log.js';

const EXIT_RUNTIME = 1;
const EXIT_CONFIG = 2;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function loadOrExit(file: string) {
  const result = checkConfig(file);
  if (!result.ok) {
    process.stderr.write(`configuration error${result.problems.length > 1 ? 's' : ''}:\n`);
    for (const p of result.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
    process.exit(EXIT_CONFIG);
  }
  return result.config;
}

async function run(file: string): Promise<void> {
  const config = loadOrExit(file);
  const logTap = new LogTap();
  const logger = createLogger(undefined, (line) => logTap.write(line));
  const gateway = new Gateway(config, logger, {
    version: pkg.version,
    logTap,
    onRestartRequested: () => stopWith('gateway_restart from ThingsBoard', EXIT_RESTART),
  });
  try {
    await gateway.start();
  } catch (err) {
    const storage = err instanceof GatewayError && err.code === 'STORAGE_UNAVAILABLE';
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'EADDRINUSE' || code === 'EACCES'
        ? `cannot listen for charge points: ${(err as Error).message}`
        : (err as Error).message;
    logger.fatal({ err: message }, 'gateway could not start');
    process.stderr.write(`tb-ocpp-gateway: ${message}\n`);
    process.exit(storage ? EXIT_CONFIG : EXIT_RUNTIME);
  }
  let signals = 0;
  let stopping = false;
  function stopWith(reason: string, exitCode: number): void {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, gracePeriodMs: config.thingsboard.shutdownGracePeriodMs, exitCode }, 'stopping');
    gateway.stop().then(
      () => {
        logger.info({ exitCode }, 'stopped');
        process.exit(exitCode);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(EXIT_RUNTIME);
      },
    );
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      // Second signal: leave now. SQLite's journal keeps the database consistent even mid-commit.
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(EXIT_RUNTIME);
    }
    stopWith(signal, 0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

const program = new Command()
  .name('tb-ocpp-gateway')
  .description('OCPP Central System that connects EV charge points to ThingsBoard')
  .version(pkg.version, '-v, --version')
  .option('-c, --config <file>', 'general configuration (tb_gateway.json)', 'config/tb_gateway.json')
  .action(async (opts: { config: string }) => run(opts.config));

program
  .command('check-config')
  .description('validate tb_gateway.json and the connector files it names; exit 0 if valid, 2 if not')
  .action((_opts: unknown, command: Command) => {
    // --config is the program's option; it may stand before or after the command name.
    const config = loadOrExit(command.optsWithGlobals<{ config: string }>().config);
    const files = [config.file, ...config.connectors.map((c) => c.file)];
    for (const n of config.notices) process.stdout.write(`${n.level}: ${n.message}\n`);
    process.stdout.write(`configuration is valid: ${files.join(', ')}\n`);
  });

await program.parseAsync(process.argv);
