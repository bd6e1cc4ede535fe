/**
 * `npm run demo`: the whole picture on one machine, no hardware and no ThingsBoard needed.
 * An embedded MQTT broker (aedes) stands in for ThingsBoard, the gateway runs on a generated
 * configuration in ./data/demo, simulated stations of every OCPP version connect to it, and the
 * status page shows them. Ctrl-C stops everything.
 *
 *   node scripts/demo.js [--dir DIR] [--duration SECONDS] [--stations N] [--any-port]
 *
 * It listens on 9000 (charge points), 9011 (status page) and 1884 (MQTT) when they are free, on
 * ports the system picks otherwise (always with --any-port, as tests do).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const VERSIONS = [
  { ocpp: '1.6', prefix: 'demo/v16-CP' },
  { ocpp: '2.0.1', prefix: 'demo/v201-CP' },
  { ocpp: '2.1', prefix: 'demo/v21-CP' },
];

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const dir = resolve(option('dir', join(ROOT, 'data', 'demo')));
const duration = Number(option('duration', process.env.DEMO_DURATION ?? '0'));
const stations = Number(option('stations', '2'));
const anyPort = process.argv.includes('--any-port');

/** The preferred port when it is free, else one the OS picks: the demo starts even if 9000 is taken. */
async function port(preferred) {
  const tryListen = (p) =>
    new Promise((res) => {
      const s = createServer();
      s.once('error', () => res(undefined));
      s.listen(p, '127.0.0.1', () => {
        const got = s.address().port;
        s.close(() => res(got));
      });
    });
  return (anyPort ? undefined : await tryListen(preferred)) ?? (await tryListen(0));
}

const byMeasurand = (path, m) => `\${${path}[?(@.measurand=='${m}')].value}`;
function meterSeries(filter, path) {
  return [
    ['energyWh', 'Energy.Active.Import.Register'],
    ['powerW', 'Power.Active.Import'],
    ['currentA', 'Current.Import'],
    ['voltageV', 'Voltage'],
    ['socPercent', 'SoC'],
  ].map(([key, m]) => ({ messageTypeFilter: filter, key, value: byMeasurand(path, m) }));
}

function ocppJson(ocppPort) {
  // sessions: the status page shows each open transaction with its energy so far.
  const common = {
    deviceNameExpression: '${ChargePointId}',
    deviceTypeExpression: '${Model}',
    sessions: true,
  };
  const boot = (vendor, model) => [
    { messageTypeFilter: 'BootNotification', key: 'vendor', value: `\${${vendor}}` },
    { messageTypeFilter: 'BootNotification', key: 'model', value: `\${${model}}` },
  ];
  return {
    centralSystem: { name: 'Demo Central System', host: '127.0.0.1', port: ocppPort, heartbeatInterval: 60 },
    chargePoints: [
      {
        idRegexpPattern: 'demo/v16-CP\\d+',
        ...common,
        attributes: [
          ...boot('charge_point_vendor', 'charge_point_model'),
          { messageTypeFilter: 'StatusNotification', key: 'status', value: '${status}' },
        ],
        timeseries: meterSeries('MeterValues', 'meter_value[0].sampled_value'),
      },
      {
        idRegexpPattern: 'demo/v2(01|1)-CP\\d+',
        ...common,
        attributes: [
          ...boot('charging_station.vendor_name', 'charging_station.model'),
          { messageTypeFilter: 'StatusNotification', key: 'status', value: '${connector_status}' },
        ],
        timeseries: meterSeries('TransactionEvent', 'meter_value[0].sampled_value'),
      },
    ],
  };
}

async function main() {
  if (!existsSync(CLI)) {
    console.error('dist/ is not built: run `npm ci` (or `npm run build`) first.');
    process.exit(2);
  }
  mkdirSync(dir, { recursive: true });
  const [ocppPort, statusPort, mqttPort] = [await port(9000), await port(9011), await port(1884)];

  // ThingsBoard's stand-in: a plain MQTT broker, and a client watching what the gateway sends.
  const broker = await Aedes.createBroker();
  const mqttServer = createServer((socket) => broker.handle(socket));
  await new Promise((res) => mqttServer.listen(mqttPort, '127.0.0.1', res));
  const seen = { telemetry: 0, attributes: 0, devices: new Set() };
  const watcher = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, protocolVersion: 4 });
  await watcher.subscribeAsync('v1/gateway/#');
  watcher.on('message', (topic, payload) => {
    let json;
    try {
      json = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (topic === 'v1/gateway/telemetry') {
      seen.telemetry++;
      for (const d of Object.keys(json)) seen.devices.add(d);
    } else if (topic === 'v1/gateway/attributes' && !('device' in json)) {
      seen.attributes++;
      for (const d of Object.keys(json)) seen.devices.add(d);
    }
  });

  writeFileSync(join(dir, 'ocpp.json'), JSON.stringify(ocppJson(ocppPort), null, 2));
  const config = join(dir, 'tb_gateway.json');
  writeFileSync(
    config,
    JSON.stringify(
      {
        thingsboard: { host: '127.0.0.1', port: mqttPort, security: { accessToken: 'DEMO_GATEWAY' } },
        storage: { type: 'sqlite', data_file_path: join(dir, 'gateway.db') },
        connectors: [{ type: 'ocpp', name: 'Demo', configuration: 'ocpp.json' }],
        statusServer: { enabled: true, host: '127.0.0.1', port: statusPort },
      },
      null,
      2,
    ),
  );

  const children = [];
  const start = (name, args) => {
    const out = openSync(join(dir, `${name}.log`), 'w');
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, LOG_LEVEL: process.env.DEMO_LOG_LEVEL ?? 'info' },
      stdio: ['ignore', name === 'gateway' ? 'pipe' : out, out],
    });
    children.push(child);
    return { child, out };
  };
  const { child: gateway, out: gatewayLog } = start('gateway', ['--config', config]);
  const ready = new Promise((res, rej) => {
    const lines = createInterface({ input: gateway.stdout });
    lines.on('line', (line) => {
      writeFileSync(gatewayLog, line + '\n');
      if (line.includes('"gateway started"')) res();
    });
    gateway.once('exit', (code) =>
      rej(new Error(`the gateway exited (${code}); see ${join(dir, 'gateway.log')}`)),
    );
  });
  await ready;
  for (const v of VERSIONS) {
    start(`simulator-${v.ocpp}`, [
      'simulate',
      '--url',
      `ws://127.0.0.1:${ocppPort}/${v.prefix}`,
      '--count',
      String(stations),
      '--ocpp',
      v.ocpp,
      '--idle',
      '2-8',
      '--session',
      '30-90',
      '--meter-interval',
      '5',
      '--progress',
      '0',
    ]);
  }

  const ids = VERSIONS.map((v) => `${v.prefix}1…${stations}`).join(', ');
  console.log(`
tb-ocpp-gateway demo is running (${VERSIONS.length * stations} simulated stations: OCPP 1.6, 2.0.1 and 2.1)

  status page                  http://127.0.0.1:${statusPort}/
  metrics                      http://127.0.0.1:${statusPort}/metrics
  charge points connect to     ws://127.0.0.1:${ocppPort}/<id>   (${ids})
  ThingsBoard stand-in (MQTT)  mqtt://127.0.0.1:${mqttPort}   (watch: mosquitto_sub -p ${mqttPort} -t 'v1/gateway/#' -v)
  configuration and logs       ${dir}

Press Ctrl-C to stop.${duration > 0 ? ` (Stops by itself after ${duration} s.)` : ''}
`);
  const report = () =>
    console.log(
      `ThingsBoard stand-in received ${seen.telemetry} telemetry and ${seen.attributes} attribute messages from ${seen.devices.size} devices`,
    );
  const ticker = setInterval(report, 15_000);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    console.log('stopping…');
    const exits = children.map(
      (c) =>
        new Promise((res) => (c.exitCode !== null || c.signalCode !== null ? res() : c.once('exit', res))),
    );
    for (const c of children.slice(1)) c.kill('SIGTERM');
    await Promise.all(exits.slice(1));
    gateway.kill('SIGTERM');
    await exits[0];
    report();
    await watcher.endAsync(true);
    await new Promise((res) => mqttServer.close(res));
    await new Promise((res) => broker.close(res));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  if (duration > 0) setTimeout(() => void stop(), duration * 1000);
}

main().catch((err) => {
  console.error(`demo failed: ${err.message}`);
  process.exit(1);
});
