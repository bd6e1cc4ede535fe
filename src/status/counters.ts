/**
 * The counters of every stage as the status page shows them: one titled table per stage, built
 * once here from the status model, so the server-rendered page and the live script (which gets
 * them in each event-stream snapshot) can never show different sets. Nested counters (the
 * Central System's per feature, the gateway device's per concern) are flattened to `group.name`.
 */
import type { GatewayStatus } from './model.js';

export interface CounterTable {
  title: string;
  rows: [string, number | string][];
}

type Counts = Record<string, unknown>;

/** `{a: 1, b: {c: 2}}` → `[["a", 1], ["b.c", 2]]`; two levels are all the model has. */
function flatten(values: Counts, prefix = ''): [string, number | string][] {
  const rows: [string, number | string][] = [];
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'number' || typeof value === 'string') rows.push([prefix + key, value]);
    else if (typeof value === 'object' && value !== null && prefix === '') {
      rows.push(...flatten(value as Counts, `${key}.`));
    }
  }
  return rows;
}

function table(title: string, values: Counts | undefined): CounterTable[] {
  const rows = values === undefined ? [] : flatten(values);
  return rows.length === 0 ? [] : [{ title, rows }];
}

export function counterTables(status: GatewayStatus): CounterTable[] {
  const tables: CounterTable[] = [];
  for (const c of status.connectors) {
    tables.push(
      ...table(`${c.name}: handshakes`, c.handshakes),
      ...table(`${c.name}: protocol`, { ...c.protocol, framesIn: c.frames.in, framesOut: c.frames.out }),
      ...table(`${c.name}: mapping`, c.mapping),
      ...table(`${c.name}: Central System`, c.csms),
      ...table(`${c.name}: RPC`, { ...c.rpc }),
      ...table(`${c.name}: security`, c.security),
      ...table(`${c.name}: log`, c.logErrors === undefined ? undefined : { errors: c.logErrors }),
    );
  }
  const tb = status.thingsboard;
  tables.push(
    ...table('outbox', status.outbox),
    ...table('ThingsBoard', { ...tb.counters, retried: tb.publish.retried }),
    ...table('ThingsBoard: delivered', tb.delivered),
    ...table('ThingsBoard: rate limits', tb.rateLimiting),
    ...table('gateway device', tb.device),
    ...table('log uploads', status.uploads),
    ...table('remote logs', status.remoteLogs),
  );
  return tables;
}
