/**
 * /readyz when storage stops taking writes, through the built CLI: a SQLite outbox capped with
 * `storage.max_database_size_mb` fills while ThingsBoard is away (SQLITE_FULL, as on a full disk).
 * Decision: storage that cannot be written is "not ready" (503, the reason in words), since a
 * charge point sent there would be refused its data; a broker outage alone never is (data is
 * kept). Once the backlog drains to ThingsBoard and a commit lands again, /readyz is 200 by
 * itself — without waiting for a charge point to send something new.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TestBroker } from '../helpers/broker.js';
import { freePort, GatewayProcess, TempDir } from '../helpers/gateway-process.js';
import type { RawChargePoint } from '../helpers/ocpp.js';
import {
  aNumberedMeterValues,
  bootedStation,
  SEQ_TIMESERIES,
  writeOutboxGatewayConfig,
} from '../helpers/outbox-gateway.js';

const dir = new TempDir();
let gateway: GatewayProcess | undefined;
let broker: TestBroker | undefined;
let cp: RawChargePoint | undefined;

afterAll(async () => {
  await cp?.shut();
  await gateway?.stop();
  await broker?.stop();
  dir.remove();
});

interface Readiness {
  status: number;
  body: {
    ready: boolean;
    checks: { listening: boolean; storageWritable: boolean; thingsboardConnected: boolean };
    storageError?: string;
  };
}

const meterValues = (seq: number): Record<string, unknown> =>
  aNumberedMeterValues(seq, Date.UTC(2026, 10, 30));

it('a full database makes /readyz 503 with the reason; it is 200 again by itself once writes land', async () => {
  const brokerPort = await freePort();
  const config = writeOutboxGatewayConfig(dir, {
    brokerPort,
    token: 'GW_READY',
    chargePointId: 'CP_READY',
    timeseries: [SEQ_TIMESERIES],
    storage: { data_file_path: join(dir.path, 'gateway.db'), max_database_size_mb: 0.0625 },
  });
  gateway = GatewayProcess.run(config, { LOG_LEVEL: 'info' });
  await gateway.started();
  const status = String((await gateway.waitForLog((l) => l.msg.startsWith('status server listening'))).url);
  const readyz = async (): Promise<Readiness> => {
    const res = await fetch(new URL('readyz', status));
    return { status: res.status, body: (await res.json()) as Readiness['body'] };
  };

  // ThingsBoard is away: that alone is no reason to be "not ready".
  expect(await readyz()).toMatchObject({
    status: 200,
    body: { ready: true, checks: { storageWritable: true, thingsboardConnected: false } },
  });

  cp = await bootedStation(gateway, 'CP_READY');
  let refused = false;
  for (let seq = 1; seq <= 5000 && !refused; seq++) {
    cp.send(JSON.stringify([2, `mv${seq}`, 'MeterValues', meterValues(seq)]));
    refused = (await cp.answerTo(`mv${seq}`))[2] === 'InternalError';
  }
  expect(refused).toBe(true);

  const full = await readyz();
  expect(full.status).toBe(503);
  expect(full.body).toMatchObject({
    ready: false,
    checks: { listening: true, storageWritable: false, thingsboardConnected: false },
  });
  expect(full.body.storageError).toMatch(/^the disk is full \(or max_database_size_mb is reached\)/);
  // Liveness is another question: the process is fine and must not be restarted for this.
  expect((await fetch(new URL('healthz', status))).status).toBe(200);
  const metrics = await (await fetch(new URL('metrics', status))).text();
  expect(Number(/^ocpp_gateway_outbox_failed_commits_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

  // ThingsBoard comes back; no charge point sends anything: the drain's commits are enough.
  broker = await TestBroker.start(brokerPort);
  const deadline = Date.now() + 30_000;
  let again = await readyz();
  while (again.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    again = await readyz();
  }
  expect(again).toMatchObject({
    status: 200,
    body: { ready: true, checks: { storageWritable: true, thingsboardConnected: true } },
  });
  expect(again.body.storageError).toBeUndefined();
}, 60_000);
