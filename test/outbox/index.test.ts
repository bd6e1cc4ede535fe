import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import {
  createStorage,
  MemoryOutbox,
  MemoryStateStore,
  SqliteOutbox,
  SqliteStateStore,
} from '../../src/outbox/index.js';
import { numberedRecords, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterEach(() => dirs.cleanup());

describe('createStorage', () => {
  it('builds the memory pair', async () => {
    const { outbox, state } = createStorage(
      { type: 'memory', maxRecordsCount: 10, maxReadRecordsCount: 5 },
      silentLogger(),
    );
    expect(outbox).toBeInstanceOf(MemoryOutbox);
    expect(state).toBeInstanceOf(MemoryStateStore);
    await outbox.close();
    await state.close();
  });

  it('builds the sqlite pair on one file, usable again after both closed', async () => {
    const config = {
      type: 'sqlite' as const,
      dataFilePath: join(dirs.make(), 'data', 'gateway.db'),
      maxRecordsCount: 10,
      maxReadRecordsCount: 5,
      messagesTtlInDays: 7,
      minFreeDiskBytes: 16 * 1024 * 1024,
    };
    const first = createStorage(config, silentLogger());
    expect(first.outbox).toBeInstanceOf(SqliteOutbox);
    expect(first.state).toBeInstanceOf(SqliteStateStore);
    await first.outbox.open();
    await first.state.open();
    await first.outbox.append(numberedRecords(12));
    first.state.saveDevice('CP-1', { name: 'Charger 1', type: 'default' });
    const id = first.state.nextTransactionId();
    await first.state.close();
    await first.outbox.close();

    const second = createStorage(config, silentLogger());
    await second.state.open();
    await second.outbox.open();
    expect(second.outbox.size()).toBe(10);
    expect(second.state.loadDevices().get('CP-1')).toEqual({ name: 'Charger 1', type: 'default' });
    expect(second.state.nextTransactionId()).toBeGreaterThan(id);
    await second.outbox.close();
    await second.state.close();
  });
});
