/**
 * Shared pieces of the RecordStore implementations: values are kept as JSON text (a reader gets a
 * copy), and namespaces/keys come from outside (charge point ids, idTokens), so they only ever
 * index Maps.
 */
import { GatewayError, ErrorCodes } from '../errors.js';

/** JSON text of a record value; throws a GatewayError for what JSON cannot hold (undefined, BigInt, cycles). */
export function serialiseRecord(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new GatewayError(ErrorCodes.STATE_INVALID, `state record is not JSON-serialisable: ${String(err)}`);
  }
  if (text === undefined) {
    throw new GatewayError(ErrorCodes.STATE_INVALID, 'state record is not JSON-serialisable (undefined)');
  }
  return text;
}

export function parseRecord(text: string | undefined): unknown {
  return text === undefined ? undefined : JSON.parse(text);
}

/** namespace → key → JSON text. */
export class RecordMaps {
  private readonly byNamespace = new Map<string, Map<string, string>>();

  get(namespace: string, key: string): string | undefined {
    return this.byNamespace.get(namespace)?.get(key);
  }

  set(namespace: string, key: string, text: string): void {
    let records = this.byNamespace.get(namespace);
    if (!records) {
      records = new Map();
      this.byNamespace.set(namespace, records);
    }
    records.set(key, text);
  }

  delete(namespace: string, key: string): void {
    const records = this.byNamespace.get(namespace);
    if (!records) return;
    records.delete(key);
    if (records.size === 0) this.byNamespace.delete(namespace);
  }

  /** Entries of a namespace whose key starts with `keyPrefix`, in key order. */
  list(namespace: string, keyPrefix: string): [string, string][] {
    const records = this.byNamespace.get(namespace);
    if (!records) return [];
    const out: [string, string][] = [];
    for (const entry of records) if (entry[0].startsWith(keyPrefix)) out.push(entry);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}
