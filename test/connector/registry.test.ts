/** Which charge point a device name belongs to, for ThingsBoard's updates of devices that are not live. */
import { describe, expect, it } from 'vitest';
import { DeviceRegistry } from '../../src/connector/registry.js';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/outbox/memory.js';

describe('DeviceRegistry: remembered charge points by device name', () => {
  it('finds a charge point by the name it was last remembered under, across a reload', () => {
    const state = new MemoryStateStore();
    const registry = new DeviceRegistry(state, silentLogger());
    registry.load();
    registry.remember('CP_1', { name: 'Garage', type: 'wallbox' });
    registry.remember('__proto__', { name: 'constructor', type: 'wallbox' });
    expect(registry.rememberedChargePoint('Garage')).toBe('CP_1');
    expect(registry.rememberedChargePoint('constructor')).toBe('__proto__');
    expect(registry.rememberedChargePoint('toString')).toBeUndefined();

    registry.remember('CP_1', { name: 'Carport', type: 'wallbox' });
    expect(registry.rememberedChargePoint('Garage')).toBeUndefined();
    expect(registry.rememberedChargePoint('Carport')).toBe('CP_1');

    const reloaded = new DeviceRegistry(state, silentLogger());
    reloaded.load();
    expect(reloaded.rememberedChargePoint('Carport')).toBe('CP_1');
    expect(reloaded.rememberedChargePoint('constructor')).toBe('__proto__');
  });

  it('keeps the other charge points of a shared name when one of them is renamed', () => {
    const registry = new DeviceRegistry(new MemoryStateStore(), silentLogger());
    registry.load();
    registry.remember('CP_1', { name: 'Site', type: 'x' });
    registry.remember('CP_2', { name: 'Site', type: 'x' });
    registry.remember('CP_1', { name: 'Elsewhere', type: 'x' });
    expect(registry.rememberedChargePoint('Site')).toBe('CP_2');
  });
});
