/**
 * An RPC from ThingsBoard to a live charge point, by method: a `serverSideRpc` entry; the reserved
 * `get`/`set`; a method a feature answers (e.g. `syncLocalList`); or the OCPP action the method
 * is named after. Every CALL goes through `send`, where the features may refuse it.
 */
import type { ChargePointConfig } from '../config/types.js';
import type { LogSummary } from '../log-summary.js';
import type { ChargePointSession } from '../ocpp/session.js';
import { describeFailure, rpcTimeout, sendDownlink, settingCall, type RpcReplyData } from './downlink.js';
import type { ConnectionView, RpcMethod } from './features.js';
import { RpcRefusedError } from './features.js';
import { rpcFailureKind, type RpcCounters } from './views.js';

export type RpcReply = RpcReplyData;

export interface RpcRequest {
  session: ChargePointSession;
  entry: ChargePointConfig;
  method: string;
  params: unknown;
  send(action: string, payload: unknown, timeoutMs: number): Promise<unknown>;
  featureMethod: RpcMethod | undefined;
  /** The features' vetoes for a method they answer themselves (it is named like an action). */
  veto(action: string, payload: unknown): Promise<void>;
  connection(): ConnectionView;
  warnings: LogSummary;
  /** The device the RPC was addressed to (for the log). */
  device: string;
  /** Failed outcomes are counted here (a reply, or none, by the caller). */
  counters: RpcCounters;
}

export async function answerRpc(r: RpcRequest): Promise<RpcReply | undefined> {
  const { session, method } = r;
  const entry = r.entry.serverSideRpc.find((e) => e.methodRPC === method);
  const caller = { call: r.send };
  try {
    let response: unknown;
    if (entry) {
      const reply = sendDownlink(caller, entry, { params: r.params, method }, rpcTimeout(entry));
      if (!entry.withResponse) {
        reply.catch((err: unknown) =>
          r.warnings.warn(
            'rpc-failed',
            { device: r.device, method, reason: describeFailure(err) },
            'RPC failed',
          ),
        );
        return undefined;
      }
      response = await reply;
    } else if (method === 'get' || method === 'set') {
      const { action, payload } = settingCall(session, method, r.params);
      response = await r.send(action, payload, rpcTimeout(undefined));
    } else if (r.featureMethod) {
      await r.veto(method, r.params);
      response = await r.featureMethod(r.connection(), r.params);
    } else if (session.spec.centralSystemActions.has(method)) {
      response = await r.send(method, r.params ?? {}, rpcTimeout(undefined));
    } else if (session.spec.chargePointActions.has(method)) {
      // The action exists, in the other direction: say so rather than "unknown".
      r.counters.unknownMethod++;
      return {
        error:
          `"${method}" is sent by a charge point to the Central System in ${session.spec.version}, ` +
          'so ThingsBoard cannot send it (and no serverSideRpc entry is named so)',
      };
    } else {
      r.counters.unknownMethod++;
      return {
        error: `unknown method "${method}": no serverSideRpc entry and not an ${session.spec.version} action`,
      };
    }
    return { result: response };
  } catch (err) {
    if (err instanceof RpcRefusedError) {
      r.counters.refused++;
      return { error: err.message };
    }
    r.counters[rpcFailureKind(err)]++;
    return { error: describeFailure(err) };
  }
}
