/**
 * OCPP-J transport rules, one row each, asserting what the spec says goes on the wire, per
 * version where the versions differ (OCPP-J 1.6; OCPP 2.0.1 and 2.1 part 4). Raw WebSocket
 * clients, so that every frame can be sent, including the ones a library would refuse to send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { Harness } from '../helpers/harness.js';
import { RawChargePoint, rawUpgrade } from '../helpers/ocpp.js';
import { aBootNotification2 } from '../helpers/ocpp2.js';
import type { FakeThingsBoard } from '../helpers/thingsboard.js';

type Version = 'ocpp1.6' | 'ocpp2.0.1' | 'ocpp2.1';

const ID_36 = 'x'.repeat(36);
const ID_37 = 'y'.repeat(37);
const STREAM = { id: 1, pending: 0, basetime: '2026-11-23T10:00:00.000Z', data: [{ t: 0, v: '230.1' }] };
const RESET = { type: 'Immediate' };
const GET_HEARTBEAT = {
  getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }],
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('OCPP-J transport conformance', () => {
  let h: Harness;
  let tb: FakeThingsBoard;
  let gateway: GatewayProcess;
  let base: string;
  const open: RawChargePoint[] = [];
  let n = 0;
  let rpcId = 1000;

  async function connect(version: Version | [], id = `probe-${++n}`): Promise<RawChargePoint> {
    const cp = await RawChargePoint.open(`${base}/${id}`, Array.isArray(version) ? version : [version]);
    open.push(cp);
    return cp;
  }

  /**
   * Sends `texts` then a Heartbeat as a sentinel, and returns the head ([type, id, code]) of every
   * frame received before the sentinel's answer, and whether the socket is still open after it.
   * Frames on one socket are answered in order, so what precedes the sentinel's answer is
   * exactly what `texts` got.
   */
  async function probe(
    version: Version | [],
    texts: string[],
  ): Promise<{ answers: unknown[][]; open: boolean }> {
    const cp = await connect(version);
    for (const t of texts) cp.send(t);
    cp.send(JSON.stringify([2, 'sentinel', 'Heartbeat', {}]));
    await cp.answerTo('sentinel');
    const answers = cp.frames
      .filter((f): f is unknown[] => Array.isArray(f) && f[1] !== 'sentinel')
      .map((f) => (f[0] === 3 ? f.slice(0, 2) : f.slice(0, 3)));
    const stillOpen = !cp.closed;
    await cp.shut();
    return { answers, open: stillOpen };
  }

  /** A booted 2.1 charge point whose device (named by its id) can receive RPCs. */
  async function booted(id: string): Promise<RawChargePoint> {
    const cp = await connect('ocpp2.1', id);
    cp.send(JSON.stringify([2, 'boot', 'BootNotification', aBootNotification2()]));
    expect((await cp.answerTo('boot'))[0]).toBe(3);
    await tb.waitFor(
      () => tb.fromGateway('v1/gateway/connect').find((m) => m.device === id),
      10_000,
      `${id} connect`,
    );
    return cp;
  }

  beforeAll(async () => {
    h = await Harness.start({
      accessToken: 'GW_CONFORMANCE',
      connectors: [
        {
          name: 'OCPP',
          ocpp: {
            centralSystem: { host: '127.0.0.1', port: 0, connection: { type: 'insecure' } },
            chargePoints: [
              {
                idRegexpPattern: '.+',
                deviceNameExpression: '${ChargePointId}',
                deviceTypeExpression: 'test',
              },
            ],
          },
        },
      ],
    });
    ({ tb, gateway } = h);
    base = h.urls.OCPP!;
  });

  afterAll(async () => {
    for (const cp of open) await cp.shut();
    await h?.stop();
  });

  describe('subprotocol (OCPP-J §3.2 / 2.0.1 part 4 §3.2)', () => {
    it.each([
      [
        'none offered → served as 1.6 (1.6 error spelling proves it)',
        async () => {
          const cp = await connect([]);
          cp.send(JSON.stringify([2, 'b', 'BootNotification', { chargePointVendor: 'Acme' }]));
          const answer = await cp.answerTo('b');
          return { protocol: cp.ws.protocol, answer: answer.slice(0, 3) };
        },
        { protocol: '', answer: [4, 'b', 'OccurenceConstraintViolation'] },
      ],
      [
        'only unsupported offered → 101 without Sec-WebSocket-Protocol, then closed at once',
        async () => {
          const r = await rawUpgrade(`${base}/probe-none`, ['ocpp2.0', 'ocpp1.5']);
          return { status: r.status, protocol: r.headers['sec-websocket-protocol'], closeCode: r.closeCode };
        },
        { status: 101, protocol: undefined, closeCode: 1002 },
      ],
      [
        'several offered → the newest common one, and the socket stays open',
        async () => {
          const r = await rawUpgrade(`${base}/probe-newest`, ['ocpp1.6', 'ocpp2.1', 'ocpp2.0.1'], 300);
          return { status: r.status, protocol: r.headers['sec-websocket-protocol'], closeCode: r.closeCode };
        },
        { status: 101, protocol: 'ocpp2.1', closeCode: undefined },
      ],
    ] as const)('%s', async (_rule, run, expected) => {
      expect(await run()).toEqual(expected);
    });
  });

  describe('frames', () => {
    const tooLong16 = { chargePointVendor: 'V'.repeat(21), chargePointModel: 'M' };
    const tooLong2 = aBootNotification2({ vendorName: 'V'.repeat(51) });
    it.each([
      // 2.0.1 part 4 §4.2.3: an id that cannot be read is answered with id "-1"; 1.6 has no such rule.
      ['unreadable frame', 'ocpp1.6', ['{not json'], []],
      ['unreadable frame', 'ocpp2.0.1', ['{not json'], [[4, '-1', 'RpcFrameworkError']]],
      ['unreadable frame', 'ocpp2.1', ['{not json'], [[4, '-1', 'RpcFrameworkError']]],
      ['unknown message type', 'ocpp1.6', ['[7,"u",{}]'], [[4, 'u', 'FormationViolation']]],
      ['unknown message type', 'ocpp2.0.1', ['[7,"u",{}]'], [[4, 'u', 'MessageTypeNotSupported']]],
      ['unknown message type', 'ocpp2.1', ['[7,"u",{}]'], [[4, 'u', 'MessageTypeNotSupported']]],
      [
        'SEND (type 6) is unknown before 2.1',
        'ocpp2.0.1',
        [JSON.stringify([6, 's', 'NotifyPeriodicEventStream', STREAM])],
        [[4, 's', 'MessageTypeNotSupported']],
      ],
      ['message id of 37 characters', 'ocpp1.6', [JSON.stringify([2, ID_37, 'Heartbeat', {}])], []],
      [
        'message id of 37 characters',
        'ocpp2.0.1',
        [JSON.stringify([2, ID_37, 'Heartbeat', {}])],
        [[4, '-1', 'RpcFrameworkError']],
      ],
      [
        'message id of 37 characters',
        'ocpp2.1',
        [JSON.stringify([2, ID_37, 'Heartbeat', {}])],
        [[4, '-1', 'RpcFrameworkError']],
      ],
      [
        'message id of 36 characters',
        'ocpp2.0.1',
        [JSON.stringify([2, ID_36, 'Heartbeat', {}])],
        [[3, ID_36]],
      ],
      [
        'a missing required field',
        'ocpp1.6',
        [JSON.stringify([2, 'r', 'BootNotification', { chargePointVendor: 'Acme' }])],
        [[4, 'r', 'OccurenceConstraintViolation']],
      ],
      [
        'a missing required field',
        'ocpp2.0.1',
        [JSON.stringify([2, 'r', 'BootNotification', { reason: 'PowerUp' }])],
        [[4, 'r', 'OccurrenceConstraintViolation']],
      ],
      [
        'a missing required field',
        'ocpp2.1',
        [JSON.stringify([2, 'r', 'BootNotification', { reason: 'PowerUp' }])],
        [[4, 'r', 'OccurrenceConstraintViolation']],
      ],
      [
        'a string over its maxLength',
        'ocpp1.6',
        [JSON.stringify([2, 'l', 'BootNotification', tooLong16])],
        [[4, 'l', 'FormationViolation']],
      ],
      [
        'a string over its maxLength',
        'ocpp2.0.1',
        [JSON.stringify([2, 'l', 'BootNotification', tooLong2])],
        [[4, 'l', 'FormatViolation']],
      ],
      [
        'a string over its maxLength',
        'ocpp2.1',
        [JSON.stringify([2, 'l', 'BootNotification', tooLong2])],
        [[4, 'l', 'FormatViolation']],
      ],
      [
        'SEND (type 6), valid or not, is never answered',
        'ocpp2.1',
        [
          JSON.stringify([6, 's1', 'NotifyPeriodicEventStream', STREAM]),
          JSON.stringify([6, 's2', 'NotifyPeriodicEventStream', {}]),
          JSON.stringify([6, 's3', 'NoSuchMessage', {}]),
        ],
        [],
      ],
      [
        'a malformed reply is never answered',
        'ocpp2.0.1',
        ['[3,"r"]', '[4,"r","GenericError"]', JSON.stringify([3, ID_37, {}])],
        [],
      ],
      [
        'a CALLRESULTERROR (type 5) is never answered',
        'ocpp2.1',
        [JSON.stringify([5, 'nothing', 'GenericError', '', {}])],
        [],
      ],
    ] as const)('%s (%s)', async (_rule, version, send, answers) => {
      expect(await probe(version, [...send])).toEqual({ answers, open: true });
    });

    it('an error description is at most 255 characters (2.0.1 part 4 §4.2.3)', async () => {
      const cp = await connect('ocpp2.0.1');
      cp.send(JSON.stringify([2, 'e', 'NoSuchAction'.repeat(30), {}]));
      const answer = await cp.answerTo('e');
      expect(answer.slice(0, 3)).toEqual([4, 'e', 'NotImplemented']);
      expect(String(answer[3])).toHaveLength(255);
      await cp.shut();
    });
  });

  describe('calls from the Central System', () => {
    it('only one CALL is outstanding per connection: the 2nd is sent only after the 1st is answered', async () => {
      const cp = await booted('one-call');
      const heartbeatResult = {
        getVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'OCPPCommCtrlr' },
            variable: { name: 'HeartbeatInterval' },
            attributeValue: '60',
          },
        ],
      };
      const rpcs = [
        ['Reset', RESET, { status: 'Accepted' }],
        ['GetVariables', GET_HEARTBEAT, heartbeatResult],
        ['TriggerMessage', { requestedMessage: 'Heartbeat' }, { status: 'Rejected' }],
      ] as const;
      const replies = rpcs.map(([method, params]) => tb.rpc('one-call', ++rpcId, method, params));
      const seen: { action: unknown; callsSoFar: number }[] = [];
      for (const [method, , response] of rpcs) {
        const call = await cp.nextCall();
        await sleep(300); // room for a CALL that must not come yet
        seen.push({ action: call[2], callsSoFar: cp.calls().length });
        expect(call[2]).toBe(method);
        cp.answer(call[1], response);
      }
      expect(seen).toEqual([
        { action: 'Reset', callsSoFar: 1 },
        { action: 'GetVariables', callsSoFar: 2 },
        { action: 'TriggerMessage', callsSoFar: 3 },
      ]);
      expect(await Promise.all(replies)).toEqual(rpcs.map(([, , response]) => ({ result: response })));
    });

    it('CALLs waiting behind the outstanding one are bounded (64): the next is refused at once', async () => {
      const cp = await booted('queue-bound');
      const replies = Array.from({ length: 66 }, () =>
        tb.rpc('queue-bound', ++rpcId, 'Reset', RESET, 15_000),
      );
      expect(await replies[65]).toEqual({ error: 'too many calls waiting for charge point queue-bound' });
      expect(cp.calls()).toHaveLength(1);
      expect(cp.calls()[0]?.[2]).toBe('Reset');
      // Dropping the connection fails the outstanding and the queued calls promptly.
      await cp.shut();
      expect(await replies[0]).toEqual({ error: 'charge point queue-bound disconnected' });
      expect(await replies[64]).toEqual({ error: 'charge point queue-bound disconnected' });
    });

    it('2.1: a CALLRESULTERROR (type 5) answering our CALL is taken as its failure', async () => {
      const cp = await booted('cre-answer');
      const reply = tb.rpc('cre-answer', ++rpcId, 'Reset', RESET);
      const call = await cp.nextCall();
      cp.send(JSON.stringify([5, call[1], 'InternalError', 'boom', {}]));
      expect(await reply).toEqual({ error: 'charge point answered CALLERROR InternalError: boom' });
      cp.send(JSON.stringify([2, 'after', 'Heartbeat', {}]));
      await cp.answerTo('after');
      // Nothing but the boot answer, our CALL and the Heartbeat answer: the type-5 frame got no answer.
      expect(cp.frames.map((f) => (f as unknown[]).slice(0, 2))).toEqual([
        [3, 'boot'],
        [2, call[1]],
        [3, 'after'],
      ]);
    });

    it('2.1: a CALLRESULTERROR naming our CALLRESULT (its spec meaning) is logged and fails nothing', async () => {
      const cp = await booted('cre-result');
      const reply = tb.rpc('cre-result', ++rpcId, 'GetVariables', GET_HEARTBEAT);
      const call = await cp.nextCall();
      // The charge point's own CALL may reuse the id of ours: the two directions are separate.
      cp.send(JSON.stringify([2, call[1], 'Heartbeat', {}]));
      await cp.waitForFrame((f) => f[0] === 3 && f[1] === call[1], 5000, 'Heartbeat answer');
      cp.send(JSON.stringify([5, call[1], 'FormatViolation', 'could not read currentTime', {}]));
      const logged = await gateway.waitForLog(
        (l) => l.msg === 'charge point could not process our CALLRESULT' && l.chargePointId === 'cre-result',
      );
      expect({ action: logged.action, code: logged.code, messageId: logged.messageId }).toEqual({
        action: 'Heartbeat',
        code: 'FormatViolation',
        messageId: call[1],
      });
      const result = {
        getVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'OCPPCommCtrlr' },
            variable: { name: 'HeartbeatInterval' },
            attributeValue: '60',
          },
        ],
      };
      cp.answer(call[1], result);
      expect(await reply).toEqual({ result });
    });
  });
});
