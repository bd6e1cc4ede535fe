import { describe, expect, it } from 'vitest';
import { parseRateLimitSetting } from '../../src/config/gateway-device.js';
import { silentLogger } from '../../src/log.js';
import { SessionPacer } from '../../src/thingsboard/pacer.js';
import { RateLimit } from '../../src/thingsboard/rate-limit.js';
import { parseSessionLimits } from '../../src/thingsboard/session-limits.js';

const windows = (text: string) => {
  const parsed = parseRateLimitSetting(text);
  if (!parsed.ok || !parsed.windows) throw new Error(`bad windows ${text}`);
  return parsed.windows;
};

describe('a rate limit of several windows at the safety share', () => {
  it('starts empty and refills each window at 80 % of its capacity', () => {
    const limit = new RateLimit(windows('10:1,300:60'), 0.8, 0);
    expect(limit.describe()).toBe('8:1,240:60');
    expect(limit.maxPerSend).toBe(8);
    // Empty: one token of the 1-second window comes after 125 ms, of the minute window after 250 ms.
    expect(limit.waitFor(1, 0)).toBe(250);
    expect(limit.waitFor(1, 250)).toBe(0);
  });

  it('never lets more through in any window than the share of it', () => {
    // Simulate a sender that sends whenever allowed, for 5 minutes in 1 ms steps.
    const limit = new RateLimit(windows('10:1,300:60'), 0.8, 0);
    const sent: number[] = [];
    for (let t = 0; t < 300_000; t++) {
      if (limit.waitFor(1, t) === 0) {
        limit.take(1, t);
        sent.push(t);
      }
    }
    const most = (periodMs: number): number => {
      let max = 0;
      for (let i = 0, j = 0; i < sent.length; i++) {
        while ((sent[j] ?? 0) <= (sent[i] ?? 0) - periodMs) j++;
        max = Math.max(max, i - j + 1);
      }
      return max;
    };
    expect(most(1000)).toBeLessThanOrEqual(8);
    expect(most(60_000)).toBeLessThanOrEqual(240);
    // …and uses what it may: 4 a second in the long run.
    expect(sent.length).toBeGreaterThan(1150);
  });

  it('keeps what a bucket holds when the same limits come again (a new session)', () => {
    const first = new RateLimit(windows('10:1'), 0.8, 0);
    expect(first.waitFor(8, 10_000)).toBe(0);
    const second = new RateLimit(windows('10:1'), 0.8, 10_000, first);
    expect(second.waitFor(8, 10_000)).toBe(0);
    const changed = new RateLimit(windows('20:1'), 0.8, 10_000, first);
    expect(changed.waitFor(1, 10_000)).toBeGreaterThan(0);
  });
});

describe('the session pacer', () => {
  const local = { device: {}, devices: {} };

  it('holds everything until ThingsBoard answered, then paces what it announced', () => {
    let now = 0;
    const pacer = new SessionPacer({
      logger: silentLogger(),
      configuredMaxPayloadBytes: 65536,
      defaultMaxInflight: 32,
      local,
      now: () => now,
    });
    const cost = { messages: 0, telemetryMessages: 1, datapoints: 5 };
    expect(pacer.delayFor('devices', cost)).toBe(Infinity);
    pacer.setThingsBoardLimits({
      maxPayloadSize: 10_000,
      maxInflightMessages: 10,
      device: {},
      devices: { telemetryDataPoints: windows('100:1') },
    });
    expect(pacer.maxPayloadBytes).toBe(8000);
    expect(pacer.maxInflight).toBe(8);
    expect(pacer.caps('devices')).toEqual({ maxDatapoints: 80, maxEntries: Number.MAX_SAFE_INTEGER });
    expect(pacer.delayFor('devices', cost)).toBe(63);
    now = 63;
    expect(pacer.delayFor('devices', cost)).toBe(0);
    pacer.take('devices', cost);
    // 5 tokens at 80 a second: 62.5 ms, less the crumb left over.
    expect(pacer.delayFor('devices', cost)).toBe(62);
    // The gateway device's own lane has no limits.
    expect(pacer.delayFor('device', cost)).toBe(0);
  });

  it('applies local limits on top of ThingsBoard’s, and alone when ThingsBoard said nothing', () => {
    const pacer = new SessionPacer({
      logger: silentLogger(),
      configuredMaxPayloadBytes: 4096,
      defaultMaxInflight: 32,
      local: { device: {}, devices: { messages: windows('5:1') } },
      now: () => 0,
    });
    pacer.setThingsBoardLimits(undefined);
    expect(pacer.describe()).toMatchObject({
      thingsboard: 'none',
      devices: { messages: '4:1' },
      maxPayloadBytes: 4096,
    });
    pacer.setThingsBoardLimits({ device: {}, devices: { messages: windows('100:10') } });
    expect(pacer.describe().devices).toEqual({ messages: '80:10,4:1' });
    // One device entry at most: an attributes entry of a device new to the session costs three
    // messages (its own, and ThingsBoard's lookup and session open of the device).
    expect(pacer.caps('devices').maxEntries).toBe(1);
    pacer.setLocal({ device: {}, devices: { messages: windows('20:1') } }, 4096);
    expect(pacer.caps('devices').maxEntries).toBe(5);
  });

  it.each([
    [65_536, 52_428],
    [4096, 3276],
    // The header (topic, packet id) counts against ThingsBoard's limit too: never the 80 % alone.
    [1000, 800],
    [300, 236],
    [100, 36],
  ])('publishes at most what a maxPayloadSize of %i admits: %i bytes', (max, expected) => {
    const pacer = new SessionPacer({
      logger: silentLogger(),
      configuredMaxPayloadBytes: 65_536,
      defaultMaxInflight: 32,
      local,
      now: () => 0,
    });
    pacer.setThingsBoardLimits({ maxPayloadSize: max, device: {}, devices: {} });
    expect(pacer.maxPayloadBytes).toBe(expected);
    expect(
      pacer.maxPayloadBytes + 'v1/devices/me/attributes/request/2147483647'.length + 4,
    ).toBeLessThanOrEqual(max);
  });

  it('counts the time waited against the limit that held the publish', () => {
    const pacer = new SessionPacer({
      logger: silentLogger(),
      configuredMaxPayloadBytes: 65536,
      defaultMaxInflight: 32,
      local,
      now: () => 0,
    });
    pacer.setThingsBoardLimits({
      device: { messages: windows('10:1') },
      devices: { telemetryMessages: windows('1000:1'), telemetryDataPoints: windows('10:1') },
    });
    expect(pacer.delayFor('devices', { messages: 0, telemetryMessages: 1, datapoints: 8 })).toBeGreaterThan(
      0,
    );
    pacer.noteWait('devices', 1500);
    expect(pacer.delayFor('device', { messages: 1, telemetryMessages: 0, datapoints: 0 })).toBeGreaterThan(0);
    pacer.noteWait('device', 250);
    expect(pacer.waitSeconds()).toEqual({ 'devices.telemetryDataPoints': 1.5, 'device.messages': 0.25 });
    expect(pacer.counters).toMatchObject({ waits: 2, waitedMs: 1750 });
  });
});

describe('the getSessionLimits answer', () => {
  it('is read as ThingsBoard writes it (null: not limited)', () => {
    const answer = parseSessionLimits(
      {
        maxPayloadSize: 65536,
        maxInflightMessages: 100,
        rateLimits: { messages: '200:1', telemetryMessages: null, telemetryDataPoints: '' },
        gatewayRateLimits: {
          messages: '10:1,300:60',
          telemetryMessages: '20:1',
          telemetryDataPoints: '50:1',
        },
      },
      silentLogger(),
    );
    expect(answer).toEqual({
      ok: true,
      limits: {
        maxPayloadSize: 65536,
        maxInflightMessages: 100,
        device: { messages: [{ capacity: 200, seconds: 1 }] },
        devices: {
          messages: [
            { capacity: 10, seconds: 1 },
            { capacity: 300, seconds: 60 },
          ],
          telemetryMessages: [{ capacity: 20, seconds: 1 }],
          telemetryDataPoints: [{ capacity: 50, seconds: 1 }],
        },
      },
    });
  });

  it.each([
    ['an error', { error: 'timeout' }],
    ['a rule chain’s reply', { result: 'ok' }],
    ['not an object', 'pong'],
  ])('is no answer when it is %s', (_what, body) => {
    expect(parseSessionLimits(body, silentLogger()).ok).toBe(false);
  });
});
