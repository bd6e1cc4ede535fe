/**
 * How the stand-in (tb-standin.ts) plays ThingsBoard's device API (`v1/devices/me/...`) toward the
 * gateway device itself: it answers `getSessionLimits`, keeps the gateway device's telemetry,
 * client and shared attributes, pushes shared attribute changes, answers attribute requests and
 * sends server-side RPCs, each of the gateway's publishes charged against its own limits.
 */
import type { Client } from 'aedes';
import { check, isObject, kvCount } from './tb-limits.js';
import type { SessionLimitsMode, StandInLimits } from './tb-standin-limits.js';

export interface StandInDeviceApiOptions {
  limits: StandInLimits;
  /** The stand-in's current `sessionLimits` (tests may change it). */
  sessionLimits(): SessionLimitsMode;
  /** Publishes `body` as JSON to the gateway (QoS 1). */
  send(topic: string, body: unknown): void;
}

export class StandInDeviceApi {
  /** The gateway device's shared attributes (what ThingsBoard holds). */
  readonly shared = new Map<string, unknown>();
  /** The gateway device's client attributes, merged as ThingsBoard merges them. */
  readonly clientAttributes = new Map<string, unknown>();
  /** The gateway device's telemetry, one entry per key and value. */
  readonly deviceTelemetry: { key: string; value: unknown }[] = [];
  private readonly opts: StandInDeviceApiOptions;
  private readonly rpcAnswers = new Map<string, (answer: unknown) => void>();
  private nextRpcId = 1000;

  constructor(opts: StandInDeviceApiOptions) {
    this.opts = opts;
  }

  /** Returns an error (the publish is refused and the connection closed) or undefined. */
  onPublish(client: Client, topic: string, json: unknown): string | undefined {
    const limits = this.opts.limits.gateway(client).device;
    const fail = (limit: string): string => {
      this.opts.limits.violate(client, 'device', limit, topic, true);
      return `rate limit ${limit}`;
    };
    const request = /^v1\/devices\/me\/rpc\/request\/(\d+)$/.exec(topic);
    if (request && isObject(json) && json.method === 'getSessionLimits') {
      // Answered by the transport itself, before any limit is checked.
      const mode = this.opts.sessionLimits();
      if (mode === 'silent') return undefined;
      const body = 'answer' in mode ? mode.answer : { error: mode.error };
      setImmediate(() => this.opts.send(`v1/devices/me/rpc/response/${request[1]}`, body));
      return undefined;
    }
    if (topic === 'v1/devices/me/telemetry') {
      const list = Array.isArray(json) ? json : [json];
      const v = check(
        limits,
        list.reduce((n: number, e) => n + kvCount(e), 0),
      );
      if (v) return fail(v);
      for (const e of list) {
        const values = isObject(e) && Object.hasOwn(e, 'ts') && isObject(e.values) ? e.values : e;
        if (isObject(values))
          for (const [key, value] of Object.entries(values)) this.deviceTelemetry.push({ key, value });
      }
      return undefined;
    }
    if (topic === 'v1/devices/me/attributes') {
      const v = check(limits, kvCount(json));
      if (v) return fail(v);
      if (isObject(json)) for (const [k, value] of Object.entries(json)) this.clientAttributes.set(k, value);
      return undefined;
    }
    const v = check(limits, 0);
    if (v) return fail(v);
    const attrRequest = /^v1\/devices\/me\/attributes\/request\/(\d+)$/.exec(topic);
    if (attrRequest) {
      setImmediate(() => this.answerAttributes(attrRequest[1] ?? '0', json));
      return undefined;
    }
    const response = /^v1\/devices\/me\/rpc\/response\/(\d+)$/.exec(topic);
    if (response) {
      const resolve = this.rpcAnswers.get(response[1] ?? '');
      if (resolve) {
        this.rpcAnswers.delete(response[1] ?? '');
        resolve(json);
      }
    }
    return undefined;
  }

  private answerAttributes(id: string, json: unknown): void {
    const body = isObject(json) ? json : {};
    const pick = (source: Map<string, unknown>, keys: unknown): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      const names = typeof keys === 'string' ? keys.split(',').filter((k) => k !== '') : [...source.keys()];
      for (const k of names) if (source.has(k)) out[k] = source.get(k);
      return out;
    };
    const none = !('clientKeys' in body) && !('sharedKeys' in body);
    const answer: Record<string, unknown> = {};
    if (none || 'clientKeys' in body) answer.client = pick(this.clientAttributes, body.clientKeys);
    if (none || 'sharedKeys' in body) answer.shared = pick(this.shared, body.sharedKeys);
    this.opts.send(`v1/devices/me/attributes/response/${id}`, answer);
  }

  /** Saves shared attributes of the gateway device and pushes them, as the gateway page does. */
  setShared(values: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(values)) this.shared.set(k, v);
    this.opts.send('v1/devices/me/attributes', values);
  }

  /** Saves a shared attribute without telling the gateway (it asks at its next connect). */
  presetShared(values: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(values)) this.shared.set(k, v);
  }

  deleteShared(keys: string[]): void {
    for (const k of keys) this.shared.delete(k);
    this.opts.send('v1/devices/me/attributes', { deleted: keys });
  }

  /** Sends a server-side RPC to the gateway device (once it listens); resolves with its reply. */
  rpc(method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    const id = String(this.nextRpcId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.rpcAnswers.delete(id);
        reject(new Error(`no reply to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.rpcAnswers.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.opts.send(`v1/devices/me/rpc/request/${id}`, { method, params });
    });
  }
}
