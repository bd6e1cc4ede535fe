import type { StorageConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { MemoryOutbox, MemoryStateStore } from './memory.js';
import { SqliteDatabase, SqliteOutbox, SqliteStateStore } from './sqlite.js';
import type { Outbox, StateStore } from './types.js';

export type * from './types.js';
export { MemoryOutbox, MemoryStateStore } from './memory.js';
export { SqliteDatabase, SqliteOutbox, SqliteStateStore } from './sqlite.js';

export interface Storage {
  outbox: Outbox;
  state: StateStore;
}

/**
 * Builds the outbox and the state store the configuration asks for; nothing is opened yet.
 *
 * With sqlite both live in one database file: open both, close both, in any order. Whichever opens
 * first opens the file; closing one commits everything pending (its partner's writes too), and the
 * file is checkpointed and closed when the second one closes.
 */
export function createStorage(config: StorageConfig, logger: Logger): Storage {
  switch (config.type) {
    case 'memory':
      return {
        outbox: new MemoryOutbox({ maxRecordsCount: config.maxRecordsCount, logger }),
        state: new MemoryStateStore(),
      };
    case 'sqlite': {
      const database = new SqliteDatabase({
        dataFilePath: config.dataFilePath,
        logger,
        ...(config.maxDatabaseSizeBytes === undefined
          ? {}
          : { maxDatabaseSizeBytes: config.maxDatabaseSizeBytes }),
        minFreeDiskBytes: config.minFreeDiskBytes,
      });
      return {
        outbox: new SqliteOutbox({
          database,
          maxRecordsCount: config.maxRecordsCount,
          messagesTtlInDays: config.messagesTtlInDays,
          logger,
        }),
        state: new SqliteStateStore({ database, logger }),
      };
    }
  }
}
