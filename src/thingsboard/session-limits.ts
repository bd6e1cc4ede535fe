/**
 * At every MQTT (re)connect, asks ThingsBoard for the session limits the way its SDK does — a
 * client-side RPC of the gateway device, `{"method":"getSessionLimits","params":{"timeout":5000}}`
 * — and hands them to the pacer. ThingsBoard's MQTT transport (MqttTransportHandler) answers it
 * itself, for a gateway with `maxPayloadSize`, `maxInflightMessages`, `rateLimits` (the gateway
 * device's own: `messages`, `telemetryMessages`, `telemetryDataPoints`) and `gatewayRateLimits`
 * (the same three for the devices behind it), each a `"capacity:seconds,…"` string or null.
 *
 * No answer in time, an error answer, or one without those fields (a ThingsBoard that does not
 * know the method): the gateway publishes without ThingsBoard's limits (the local ones still
 * apply) and says so once. A plain MQTT broker echoes the request back, which ThingsBoard never
 * does; then an answer is awaited only briefly (a test may still play ThingsBoard on it).
 */
import { parseRateLimitSetting } from '../config/gateway-device.js';
import { isRecord } from '../config/keys.js';
import type { RateLimitSet } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ThingsBoardClient } from './client.js';
import { DEVICE_TOPIC } from './device-api.js';
import { SESSION_LIMITS_METHOD } from './own-cost.js';
import { describeSet, type SessionLimits, type SessionPacer } from './pacer.js';

export const SESSION_LIMITS_TIMEOUT_MS = 5000;
/** After a plain broker echoed the request: how long another client may still answer it. */
const PLAIN_BROKER_GRACE_MS = 500;
/**
 * The messages of the gateway device ThingsBoard counts at every connect: its MQTT session open
 * (SessionEventMsg OPEN) and its subscriptions to its attributes and to its RPCs.
 */
const CONNECT_MESSAGES = 3;

export interface SessionLimitsOptions {
  client: ThingsBoardClient;
  pacer: SessionPacer;
  logger: Logger;
  timeoutMs?: number;
}

type Answer = { ok: true; limits: SessionLimits } | { ok: false; reason: string };

export class SessionLimitsNegotiator {
  private readonly opts: SessionLimitsOptions;
  private generation = 0;
  private lastSaid = '';
  /** Told when a publish of ours on the RPC request topic comes back (a plain broker). */
  private onRequestEchoed: (() => void) | undefined;

  constructor(opts: SessionLimitsOptions) {
    this.opts = opts;
  }

  /** Asks at every (re)connect from now on. */
  start(): void {
    this.opts.client.onConnect(() => void this.negotiate());
    this.opts.client.device.onEcho((topic) => {
      if (topic.startsWith(DEVICE_TOPIC.rpcRequest)) this.onRequestEchoed?.();
    });
  }

  private async negotiate(): Promise<void> {
    const { pacer } = this.opts;
    const generation = ++this.generation;
    // ThingsBoard counted the session open and counts subscribing to the gateway device's
    // attributes and RPCs as messages.
    pacer.take('device', { messages: CONNECT_MESSAGES, telemetryMessages: 0, datapoints: 0 });
    const answer = await this.ask();
    if (generation !== this.generation) return;
    if (answer.ok) {
      pacer.setThingsBoardLimits(answer.limits);
      this.say(
        'info',
        {
          maxPayloadSize: answer.limits.maxPayloadSize,
          maxInflightMessages: answer.limits.maxInflightMessages,
          rateLimits: describeSet(answer.limits.device),
          gatewayRateLimits: describeSet(answer.limits.devices),
          inForce: pacer.describe(),
        },
        'session limits from ThingsBoard applied (at the safety share of 80 %)',
      );
      return;
    }
    if (answer.reason === 'link-lost') return; // asked again on the next connect
    pacer.setThingsBoardLimits(undefined);
    this.say(
      'warn',
      { reason: answer.reason, inForce: pacer.describe() },
      'ThingsBoard did not tell its session limits: publishing without them (local limits of tb_gateway.json still apply)',
    );
  }

  /** Logs what is in force once, and again only when it changes. */
  private say(level: 'info' | 'warn', fields: Record<string, unknown>, msg: string): void {
    const key = `${level}:${msg}:${JSON.stringify(fields)}`;
    if (key === this.lastSaid) return;
    this.lastSaid = key;
    this.opts.logger[level](fields, msg);
  }

  private ask(): Promise<Answer> {
    const { client } = this.opts;
    const timeoutMs = this.opts.timeoutMs ?? SESSION_LIMITS_TIMEOUT_MS;
    return new Promise<Answer>((resolve) => {
      let done = false;
      let grace: NodeJS.Timeout | undefined;
      const finish = (answer: Answer): void => {
        if (done) return;
        done = true;
        if (grace) clearTimeout(grace);
        this.onRequestEchoed = undefined;
        resolve(answer);
      };
      this.onRequestEchoed = () => {
        grace ??= setTimeout(
          () => finish({ ok: false, reason: 'a plain MQTT broker, not ThingsBoard' }),
          PLAIN_BROKER_GRACE_MS,
        );
      };
      client.device.requestRpc(SESSION_LIMITS_METHOD, { timeout: timeoutMs }, timeoutMs).then(
        (answer) => finish(parseSessionLimits(answer, this.opts.logger)),
        (err: unknown) => {
          const reason = (err as { reason?: string }).reason;
          finish({
            ok: false,
            reason: reason === 'link-lost' ? 'link-lost' : `no answer within ${timeoutMs} ms`,
          });
        },
      );
    });
  }
}

const NAMES = ['messages', 'telemetryMessages', 'telemetryDataPoints'] as const;

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

/** ThingsBoard's answer → limits; anything else (an error, a rule chain's reply) → not an answer. */
export function parseSessionLimits(answer: unknown, logger: Logger): Answer {
  if (!isRecord(answer)) return { ok: false, reason: 'the answer is not an object' };
  if (Object.hasOwn(answer, 'error')) return { ok: false, reason: `ThingsBoard answered with an error` };
  const known = ['maxPayloadSize', 'maxInflightMessages', 'rateLimits', 'gatewayRateLimits'];
  if (!known.some((k) => Object.hasOwn(answer, k))) {
    return {
      ok: false,
      reason: 'the answer holds no session limits (a ThingsBoard that does not know getSessionLimits)',
    };
  }
  const set = (raw: unknown, where: string): RateLimitSet => {
    const out: RateLimitSet = {};
    if (!isRecord(raw)) return out;
    for (const name of NAMES) {
      const value = raw[name];
      if (value === null || value === undefined || value === '') continue;
      const parsed = parseRateLimitSetting(value);
      if (!parsed.ok) {
        logger.error(
          { limit: `${where}.${name}`, problem: parsed.message },
          'session limit from ThingsBoard not understood: ignored',
        );
      } else if (parsed.windows) out[name] = parsed.windows;
    }
    return out;
  };
  const limits: SessionLimits = {
    device: set(answer.rateLimits, 'rateLimits'),
    devices: set(answer.gatewayRateLimits, 'gatewayRateLimits'),
  };
  const maxPayloadSize = positiveInt(answer.maxPayloadSize);
  const maxInflightMessages = positiveInt(answer.maxInflightMessages);
  if (maxPayloadSize !== undefined) limits.maxPayloadSize = maxPayloadSize;
  if (maxInflightMessages !== undefined) limits.maxInflightMessages = maxInflightMessages;
  return { ok: true, limits };
}
