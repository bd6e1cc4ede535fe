/**
 * A handler's interceptCall (issue 12: password changes are stored before the CALL leaves) under
 * issue 8's rules for calls to a charge point: the deadline counts from when the call is asked
 * for, a full queue answers at once, and a failing interceptor is counted, never fatal. A real
 * CentralSystemServer on 127.0.0.1 and a raw WebSocket charge point that records every frame.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OcppTimeoutError } from '../../src/ocpp/errors.js';
import type { CentralSystemServer } from '../../src/ocpp/server.js';
import {
  newProtocolCounters,
  type CallHandler,
  type ChargePointSession,
  type ProtocolCounters,
} from '../../src/ocpp/session.js';
import { RawChargePoint } from '../helpers/ocpp.js';
import { aCentralSystemConfig, aCentralSystemServer } from '../helpers/ocpp-server.js';

const SOFT_RESET = { type: 'Soft' };

describe('calls through an interceptor', () => {
  let server: CentralSystemServer<true> | undefined;
  let station: RawChargePoint | undefined;
  let counters: ProtocolCounters;

  async function connect(
    interceptCall: NonNullable<CallHandler['interceptCall']>,
  ): Promise<ChargePointSession> {
    counters = newProtocolCounters();
    let resolveSession: (s: ChargePointSession) => void = () => undefined;
    const session = new Promise<ChargePointSession>((resolve) => (resolveSession = resolve));
    server = aCentralSystemServer({
      config: aCentralSystemConfig({ maxQueuedCalls: 1 }),
      handler: { handleCall: () => ({}), interceptCall },
      protocolCounters: counters,
      onSession: (s) => resolveSession(s),
    });
    const port = await server.start();
    station = await RawChargePoint.open(`ws://127.0.0.1:${port}/CP_1`, ['ocpp1.6']);
    return session;
  }

  afterEach(async () => {
    await station?.shut();
    await server?.stop();
    station = undefined;
    server = undefined;
  });

  it('fails a call its interceptor has not sent by the deadline, and never sends it afterwards', async () => {
    let release: () => void = () => undefined;
    let lateSend: Promise<unknown> | undefined;
    const session = await connect(async (_s, _action, _payload, send) => {
      await new Promise<void>((resolve) => (release = resolve));
      lateSend = send();
      return lateSend;
    });
    const call = session.call('Reset', SOFT_RESET, 200);
    await expect(call).rejects.toBeInstanceOf(OcppTimeoutError);
    await expect(call).rejects.toThrow(/not sent/);
    expect(counters.callTimeouts).toBe(1);
    // The interceptor finishes late: its send is refused, nothing reaches the station.
    release();
    await expect.poll(() => lateSend !== undefined).toBe(true);
    await expect(lateSend).rejects.toBeInstanceOf(OcppTimeoutError);
    expect(counters.callTimeouts).toBe(1);
    // A Heartbeat round trip: anything sent before it would have arrived first.
    station?.send(JSON.stringify([2, 'hb', 'Heartbeat', {}]));
    await station?.answerTo('hb');
    expect(station?.calls()).toEqual([]);
  });

  it('refuses a call when the queue is full before the interceptor sees it', async () => {
    const seen: string[] = [];
    const session = await connect((_s, action, _payload, send) => {
      seen.push(action);
      return send();
    });
    const first = session.call('Reset', SOFT_RESET, 5000);
    const second = session.call('ClearCache', {}, 5000);
    await expect(session.call('Reset', SOFT_RESET, 5000)).rejects.toThrow(/too many calls waiting/);
    expect(seen).toEqual(['Reset', 'ClearCache']);
    const sent = (await station?.nextCall()) ?? [];
    station?.answer(sent[1], { status: 'Accepted' });
    await expect(first).resolves.toEqual({ status: 'Accepted' });
    const next = (await station?.nextCall()) ?? [];
    expect(next[2]).toBe('ClearCache');
    station?.answer(next[1], { status: 'Accepted' });
    await expect(second).resolves.toEqual({ status: 'Accepted' });
  });

  it('turns an interceptor that throws into the call’s rejection, counted, and keeps the session', async () => {
    let throwNext = true;
    const session = await connect((_s, _action, _payload, send) => {
      if (throwNext) {
        throwNext = false;
        throw new Error('interceptor bug');
      }
      return send();
    });
    await expect(session.call('Reset', SOFT_RESET, 5000)).rejects.toThrow('interceptor bug');
    expect(counters.handlerErrors).toBe(1);
    const call = session.call('Reset', SOFT_RESET, 5000);
    const sent = (await station?.nextCall()) ?? [];
    station?.answer(sent[1], { status: 'Accepted' });
    await expect(call).resolves.toEqual({ status: 'Accepted' });
  });
});
