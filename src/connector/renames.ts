/**
 * Devices ThingsBoard renamed. ThingsBoard tells the gateway device with a one-way RPC,
 * `gateway_device_renamed` `{"<old name>": "<new name>"}` (DefaultGatewayNotificationsService), and
 * from then on a publish under the old name would create the old device again. So every name a
 * device ever had maps to its current one: the names a charge point's BootNotification renders,
 * and the records still in the outbox, go out under the name ThingsBoard now knows.
 *
 * Kept in the state store (namespace `deviceRenames`, old name → current name), so a restart
 * keeps following the renames, as the Python gateway does with its persistent devices file.
 */
import type { Logger } from '../log.js';
import type { RecordStore } from '../outbox/types.js';

export const RENAMES_NAMESPACE = 'deviceRenames';

/**
 * Earlier names remembered at most. ThingsBoard sends the renames, but nothing it sends may grow
 * memory without bound: past this, the names remembered longest ago are forgotten first (a
 * publish under such a name creates a device of that name again, as before the rename).
 */
export const MAX_REMEMBERED_RENAMES = 100_000;

export class DeviceRenames {
  /** Any earlier name → the current one. */
  private readonly current = new Map<string, string>();
  private readonly state: RecordStore;
  private readonly logger: Logger;
  private readonly limit: number;

  constructor(state: RecordStore, logger: Logger, limit = MAX_REMEMBERED_RENAMES) {
    this.state = state;
    this.logger = logger;
    this.limit = limit;
  }

  /** Loads what earlier runs remembered (after the state store is open). */
  async load(): Promise<void> {
    for (const [from, to] of await this.state.listRecords(RENAMES_NAMESPACE)) {
      if (typeof to === 'string' && to !== '') this.current.set(from, to);
    }
    await Promise.all(this.evict());
  }

  get size(): number {
    return this.current.size;
  }

  /** The name ThingsBoard knows the device named `name` by. */
  resolve(name: string): string {
    return this.current.get(name) ?? name;
  }

  /** ThingsBoard renamed `from` to `to`; resolves once remembered. */
  async renamed(from: string, to: string): Promise<void> {
    const writes: Promise<void>[] = [];
    const set = (key: string, value: string): void => {
      if (key === value) {
        if (this.current.delete(key)) writes.push(this.state.deleteRecord(RENAMES_NAMESPACE, key));
        return;
      }
      this.current.set(key, value);
      writes.push(this.state.putRecord(RENAMES_NAMESPACE, key, value));
    };
    // Every earlier name of `from` follows it (A→B, then B→C: A→C and B→C).
    for (const [key, value] of [...this.current]) if (value === from) set(key, to);
    set(from, to);
    writes.push(...this.evict());
    this.logger.info({ from, to }, 'ThingsBoard renamed a device: its data follows the new name');
    await Promise.all(writes);
  }

  /** Forgets the names remembered longest ago beyond the limit; the deletes to wait for. */
  private evict(): Promise<void>[] {
    const over = this.current.size - this.limit;
    if (over <= 0) return [];
    const forgotten: string[] = [];
    for (const key of this.current.keys()) {
      if (forgotten.length === over) break;
      forgotten.push(key);
    }
    for (const key of forgotten) this.current.delete(key);
    this.logger.warn(
      { forgotten: over, limit: this.limit, oldest: forgotten[0] },
      'more renamed devices than the gateway remembers: the oldest earlier names are forgotten',
    );
    return forgotten.map((key) => this.state.deleteRecord(RENAMES_NAMESPACE, key));
  }

  /** ThingsBoard deleted `name`: what pointed at it is forgotten (as the Python gateway does). */
  async deleted(name: string): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const [key, value] of [...this.current]) {
      if (value === name || key === name) {
        this.current.delete(key);
        writes.push(this.state.deleteRecord(RENAMES_NAMESPACE, key));
      }
    }
    await Promise.all(writes);
  }
}
