/**
 * The values of one outbox record that does not fit one publish, cut into chunks that do (bytes
 * and datapoints), and the datapoints of a telemetry body counted without parsing it.
 */

/**
 * Datapoints of a telemetry body `{"ts":…,"values":{…}}`: the keys of `values`, counted by a scan
 * instead of a parse (it runs for every record published).
 */
export function countTelemetryValues(body: string): number {
  const start = body.indexOf('"values":{');
  if (start < 0) return 1;
  let depth = 0;
  let keys = 0;
  let inString = false;
  let empty = true;
  for (let i = start + 9; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      if (depth === 1 && empty) {
        empty = false;
        keys = 1;
      }
    } else if (c === 123 /* { */ || c === 91 /* [ */) depth++;
    else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
      if (depth === 0) break;
    } else if (c === 44 /* , */ && depth === 1) keys++;
  }
  return keys;
}

export interface Chunk {
  /** A whole gateway-API payload: `{"<device>":[{ts, values}]}` or `{"<device>":{…}}`. */
  payload: string;
  datapoints: number;
}

/**
 * `source`: a telemetry body (JSON text) or attribute values. `chunks` is undefined when a
 * telemetry body cannot be read; `dropped` says why values (or the record) were left out.
 */
export function splitValues(
  kind: 'telemetry' | 'attributes',
  device: string,
  source: string | Record<string, unknown>,
  limits: { maxBytes: number; maxDatapoints: number },
): { chunks: Chunk[] | undefined; dropped: string[] } {
  const dropped: string[] = [];
  let ts: unknown;
  let values: Record<string, unknown>;
  if (typeof source === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(source);
    } catch {
      return { chunks: undefined, dropped: ['its body is not JSON'] };
    }
    const p = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
      ts?: unknown;
      values?: unknown;
    };
    ts = p.ts;
    values =
      typeof p.values === 'object' && p.values !== null && !Array.isArray(p.values)
        ? (p.values as Record<string, unknown>)
        : {};
  } else values = source;
  const name = JSON.stringify(device);
  const wrap = (chunk: Record<string, unknown>): string =>
    kind === 'telemetry'
      ? `{${name}:[${JSON.stringify({ ts, values: chunk })}]}`
      : `{${name}:${JSON.stringify(chunk)}}`;
  const chunks: Chunk[] = [];
  // Keys come from charge point data: a null prototype keeps "__proto__" an ordinary key.
  const fresh = (): Record<string, unknown> => Object.create(null) as Record<string, unknown>;
  let chunk = fresh();
  let keys = 0;
  const flush = (): void => {
    if (keys === 0) return;
    chunks.push({ payload: wrap(chunk), datapoints: keys });
    chunk = fresh();
    keys = 0;
  };
  for (const [key, value] of Object.entries(values)) {
    if (Buffer.byteLength(wrap({ [key]: value })) > limits.maxBytes) {
      dropped.push(`value "${key}" alone is larger than a publish may be`);
      continue;
    }
    if (
      keys > 0 &&
      (keys + 1 > limits.maxDatapoints ||
        Buffer.byteLength(wrap({ ...chunk, [key]: value })) > limits.maxBytes)
    ) {
      flush();
    }
    chunk[key] = value;
    keys++;
  }
  flush();
  return { chunks, dropped };
}
