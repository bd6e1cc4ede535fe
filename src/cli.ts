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
import { createLogger, parseLogLevel } from './log.js';
import { parseSimulateOptions, type RawSimulateOptions } from './simulator/options.js';
import { Simulation } from './simulator/run.js';

const EXIT_RUNTIME = 1;
/**
 * A signal within this long of the first is the same stop request delivered twice; a later one
 * means "stop now".
 */
const SAME_SIGNAL_WINDOW_MS = 1000;
const EXIT_CONFIG = 2;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** LOG_LEVEL is configuration too: a bad value stops start-up like a bad key, not with a crash. */
function logLevelOrExit(): string {
  const level = parseLogLevel(process.env.LOG_LEVEL);
  if (!level.ok) {
    process.stderr.write(`configuration error:\n  ${level.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  return level.level;
}

function loadOrExit(file: string) {
  const level = parseLogLevel(process.env.LOG_LEVEL);
  const result = checkConfig(file);
  if (!result.ok || !level.ok) {
    const lines = [
      ...(result.ok ? [] : result.problems.map(formatProblem)),
      ...(level.ok ? [] : [level.message]),
    ];
    process.stderr.write(`configuration error${lines.length > 1 ? 's' : ''}:\n`);
    for (const line of lines) process.stderr.write(`  ${line}\n`);
    process.exit(EXIT_CONFIG);
  }
  return result.config;
}

async function run(file: string): Promise<void> {
  const config = loadOrExit(file);
  const logTap = new LogTap();
  const logger = createLogger({ level: logLevelOrExit(), onLine: (line) => logTap.write(line) });
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
  /** When the first stop signal came; undefined before it. */
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (firstSignalAt === undefined) {
      firstSignalAt = now;
      stopWith(signal, 0);
    } else if (now - firstSignalAt < SAME_SIGNAL_WINDOW_MS) {
      // Ctrl-C on `npm start` reaches npm and the gateway (one process group), and npm passes
      // it on again; `timeout` and a cgroup-wide stop do the same. One request, not two.
      logger.info({ signal }, 'the same stop request again: still stopping gracefully');
    } else {
      // Second signal: leave now. SQLite's journal keeps the database consistent even mid-commit.
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(EXIT_RUNTIME);
    }
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

program
  .command('simulate')
  .description('run simulated charge points against a Central System (this gateway or another)')
  .requiredOption('--url <url>', 'WebSocket URL prefix; station i connects to URL + i')
  .option('--count <n>', 'number of stations', '1')
  .option('--ocpp <version>', 'OCPP version: 1.6, 2.0.1 or 2.1', '1.6')
  .option('--duration <seconds>', 'how long to run; 0 = until Ctrl-C', '0')
  .option('--rate <n>', 'new connections per second', '10')
  .option('--first <n>', 'number of the first station', '1')
  .option('--connectors <n>', 'connectors (1.6) or EVSEs (2.x) per station', '2')
  .option('--idle <seconds>', 'time a connector stays free between sessions, MIN-MAX', '10-40')
  .option('--session <seconds>', 'length of a charging session, MIN-MAX', '60-180')
  .option('--meter-interval <seconds>', 'seconds between meter values while charging', '10')
  .option('--password <password>', 'HTTP Basic password; the username is the station identity')
  .option('--token <header>', 'Authorization header sent as is, e.g. "Bearer ACCESS_TOKEN"')
  .option('--id-tags <tags>', 'idTags the stations charge with, comma-separated (default: random cards)')
  .option('--seed <n>', 'random seed: the same seed replays the same run', '1')
  .option('--progress <seconds>', 'seconds between progress lines; 0 = none', '10')
  .action(async (opts: RawSimulateOptions) => {
    const parsed = parseSimulateOptions(opts);
    if (!parsed.ok) {
      process.stderr.write(`simulate: bad option${parsed.problems.length > 1 ? 's' : ''}:\n`);
      for (const p of parsed.problems) process.stderr.write(`  ${p}\n`);
      process.exit(EXIT_CONFIG);
    }
    const logger = createLogger({ level: logLevelOrExit() });
    const simulation = new Simulation(parsed.options, logger);
    const stop = (): void => simulation.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const summary = await simulation.run();
    logger.info(summary, 'simulation finished');
    // Exit 1 when no station ever got through (wrong URL, refused credentials): scripts can tell.
    process.exit(summary.connected > 0 ? 0 : EXIT_RUNTIME);
  });

await program.parseAsync(process.argv);
