/**
 * Features run outside a CALL's answer (a new connection, tasks after an answer, ThingsBoard
 * attributes): a feature that throws there is counted and logged, summarised, and the features
 * after it still run; nothing is thrown to the caller.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ChargePointConfig } from '../../src/config/types.js';
import { EntryFeatures, FeatureFailures, runAfterAnswer } from '../../src/connector/feature-host.js';
import type { ConnectionView, ConnectorFeature } from '../../src/connector/features.js';
import { createCsmsFeatures } from '../../src/csms/index.js';
import { LogSummary } from '../../src/log-summary.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';
import { ConfigDir, aGatewayJson, anOcppJson } from '../config/fixtures.js';
import { capturingLogger, manualClock } from '../outbox/helpers.js';

function aConnection(): ConnectionView {
  return {
    chargePointId: 'CP1',
    version: 'ocpp1.6',
    entry: {} as ChargePointConfig,
    device: () => 'CP1',
    call: () => Promise.resolve({}),
    facts: new Map(),
    publish: () => undefined,
    isCurrent: () => true,
  };
}

function setup() {
  const { logger, lines } = capturingLogger();
  const warnings = new LogSummary({ logger, now: manualClock(0).now });
  return { failures: new FeatureFailures(warnings), warnings, lines };
}

describe('feature failures outside a CALL', () => {
  it('a throwing onConnected is counted and logged once a minute; the next feature still runs', () => {
    const { failures, warnings, lines } = setup();
    const seen: string[] = [];
    const broken: ConnectorFeature = {
      name: 'broken',
      onConnected: () => {
        throw new TypeError('boom');
      },
    };
    const fine: ConnectorFeature = { name: 'fine', onConnected: (c) => void seen.push(c.chargePointId) };
    const features = new EntryFeatures({} as ChargePointConfig, [broken, fine]);
    for (let i = 0; i < 100; i++) features.connected(aConnection(), failures);
    expect(seen).toHaveLength(100);
    expect(failures.counters.onConnected).toBe(100);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      feature: 'broken',
      stage: 'onConnected',
      chargePointId: 'CP1',
      err: { message: 'boom' },
    });
    warnings.close();
    expect(lines[1]).toMatchObject({ repeated: 99, total: 100 });
  });

  it('a throwing task after an answer is counted; the tasks after it still run', async () => {
    const { failures, warnings } = setup();
    const ran: number[] = [];
    await runAfterAnswer(
      [
        () => void ran.push(1),
        () => {
          throw new Error('task failed');
        },
        () => void ran.push(3),
      ],
      failures,
      { chargePointId: 'CP1', action: 'StopTransaction' },
    );
    expect(ran).toEqual([1, 3]);
    expect(failures.counters.afterAnswer).toBe(1);
    warnings.close();
  });

  it('waits for the promises tasks return (a rejected one is counted, never thrown)', async () => {
    const { failures, warnings } = setup();
    let release: () => void = () => undefined;
    const removal = new Promise<void>((resolve) => (release = resolve));
    let done = false;
    const finished = runAfterAnswer(
      [() => removal, () => Promise.reject(new Error('state store full'))],
      failures,
      { chargePointId: 'CP1', action: 'StopTransaction' },
    ).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    release();
    await finished;
    expect(done).toBe(true);
    expect(failures.counters.afterAnswer).toBe(1);
    warnings.close();
  });

  it.each(['onDeviceAttributes', 'onGatewayAttributes', 'onThingsBoardConnected'] as const)(
    '%s: an exception never reaches the caller',
    (stage) => {
      const { failures, warnings } = setup();
      expect(() =>
        failures.run(stage, { feature: 'x' }, () => {
          throw new RangeError('Maximum call stack size exceeded');
        }),
      ).not.toThrow();
      expect(failures.counters[stage]).toBe(1);
      warnings.close();
    },
  );
});

/**
 * The hot path: a CALL no feature takes part in is answered synchronously up to the outbox
 * (answering.ts). These are the real Central System features, built from real configurations.
 */
describe('which CALLs the Central System features take part in', () => {
  const dir = new ConfigDir();
  afterAll(() => dir.remove());

  function entryFeatures(ocpp: Record<string, unknown>): EntryFeatures {
    const config = loadConfig(dir.files(aGatewayJson(), ocpp), {}).connectors[0];
    if (!config) throw new Error('no connector');
    const entry = config.chargePoints[0];
    if (!entry) throw new Error('no chargePoints entry');
    const { all } = createCsmsFeatures({
      config,
      state: new MemoryStateStore(),
      thingsboard: undefined,
      logger: silentLogger(),
      warnings: new LogSummary({ logger: silentLogger() }),
      now: () => new Date(),
    });
    return new EntryFeatures(entry, all);
  }

  const hotPath = ['MeterValues', 'TransactionEvent', 'StatusNotification', 'Heartbeat', 'NotifyEvent'];

  it('an ocpp.json without any Central System key: only DataTransfer (its answer) is theirs', () => {
    const features = entryFeatures(anOcppJson());
    expect(hotPath.filter((a) => features.involves(a))).toEqual([]);
    expect(features.involves('DataTransfer')).toBe(true);
    expect(features.vetoes).toBe(false);
  });

  it('authorization takes the CALLs that carry a token, never MeterValues or StatusNotification', () => {
    const features = entryFeatures(anOcppJson({ authorization: { mode: 'list' } }));
    expect(hotPath.filter((a) => features.involves(a))).toEqual(['TransactionEvent']);
  });

  it('sessions take the transaction messages; registration every CALL', () => {
    const sessions = entryFeatures(
      anOcppJson({ chargePoints: [{ idRegexpPattern: 'CP_1', sessions: true }] }),
    );
    expect(hotPath.filter((a) => sessions.involves(a))).toEqual([
      'MeterValues',
      'TransactionEvent',
      'StatusNotification',
    ]);
    const pending = entryFeatures(
      anOcppJson({ chargePoints: [{ idRegexpPattern: 'CP_1', registration: 'Pending' }] }),
    );
    expect(hotPath.filter((a) => pending.involves(a))).toEqual(hotPath);
  });
});
