/**
 * RPC ids as ThingsBoard wrote them. ThingsBoard matches a reply to its request by the id, so the
 * reply must carry the same JSON value. An id that a JavaScript number cannot hold exactly
 * (`1e400` parses to Infinity and JSON.stringify writes `null`; 2^64 loses digits) keeps the text
 * it had in the request and is written back verbatim.
 */

/** A JSON number kept as its source text. */
export class RawJsonNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type RpcId = number | string | RawJsonNumber;

/** The reply payload for topic v1/gateway/rpc: `{"device","id","data"}`, the id as it came. */
export function rpcReplyPayload(device: string, id: RpcId, data: unknown): string {
  const idText = id instanceof RawJsonNumber ? id.text : JSON.stringify(id);
  let dataText: string | undefined;
  try {
    dataText = JSON.stringify(data, refuseNonFinite);
  } catch (err) {
    // A value that cannot be serialised (too deep for the stack, or a number such as 1e309 that
    // JSON.stringify would write as null, a different value): the RPC still gets an answer.
    const error =
      err instanceof NonFiniteNumber
        ? `the result holds a number JSON cannot carry (at ${err.path || 'the top'}, e.g. 1e309)`
        : 'the result could not be serialised';
    dataText = JSON.stringify({ error });
  }
  dataText ??= JSON.stringify({ error: 'the result could not be serialised' });
  return `{"device":${JSON.stringify(device)},"id":${idText},"data":${dataText}}`;
}

/** The id of an RPC request as it must be echoed; undefined when there is none usable. */
export function rpcIdOf(id: unknown, text: string | undefined): RpcId | undefined {
  if (typeof id === 'string') return id;
  if (typeof id !== 'number') return undefined;
  if (Number.isSafeInteger(id) || text === undefined) return Number.isFinite(id) ? id : undefined;
  // 1e400 parses to Infinity, 2^64 loses digits: answer with the text ThingsBoard sent.
  const raw = rawNumberAt(text, ['data', 'id']);
  return raw === undefined ? undefined : new RawJsonNumber(raw);
}

class NonFiniteNumber extends Error {
  constructor(readonly path: string) {
    super('non-finite number');
  }
}

/** A JSON.stringify replacer that throws at Infinity and NaN instead of writing null. */
function refuseNonFinite(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new NonFiniteNumber(key);
  return value;
}

/**
 * The source text of the number at `path` (object keys from the top) in the JSON `text`, or
 * undefined. Used only for ids JSON.parse could not hold exactly; duplicate keys resolve to the
 * last one, as JSON.parse does. `text` is valid JSON of bounded depth (it was parsed and measured).
 */
export function rawNumberAt(text: string, path: readonly string[]): string | undefined {
  const scanner = new PathScanner(text);
  return scanner.find(path);
}

class PathScanner {
  private pos = 0;
  constructor(private readonly text: string) {}

  find(path: readonly string[]): string | undefined {
    this.space();
    return this.valueAt(path);
  }

  /** At a value: returns the raw number at `path` inside it, consuming the value. */
  private valueAt(path: readonly string[]): string | undefined {
    const c = this.text.charAt(this.pos);
    if (path.length === 0) {
      const start = this.pos;
      this.skipValue();
      const raw = this.text.slice(start, this.pos);
      return c === '-' || (c >= '0' && c <= '9') ? raw : undefined;
    }
    if (c !== '{') {
      this.skipValue();
      return undefined;
    }
    this.pos++;
    let found: string | undefined;
    for (;;) {
      this.space();
      if (this.text.charAt(this.pos) === '}') {
        this.pos++;
        return found;
      }
      const key = this.string();
      this.space();
      this.pos++; // ':'
      this.space();
      if (key === path[0]) found = this.valueAt(path.slice(1));
      else this.skipValue();
      this.space();
      if (this.text.charAt(this.pos) === ',') this.pos++;
    }
  }

  private string(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.text.length) {
      const c = this.text.charAt(this.pos);
      if (c === '\\') this.pos += 2;
      else if (c === '"') {
        this.pos++;
        return JSON.parse(this.text.slice(start, this.pos)) as string;
      } else this.pos++;
    }
    return '';
  }

  private skipValue(): void {
    let depth = 0;
    while (this.pos < this.text.length) {
      const c = this.text.charAt(this.pos);
      if (c === '"') {
        this.string();
      } else if (c === '{' || c === '[') {
        depth++;
        this.pos++;
      } else if (c === '}' || c === ']') {
        if (depth === 0) return;
        depth--;
        this.pos++;
        if (depth === 0) return;
      } else if (c === ',' || c === ':') {
        if (depth === 0) return;
        this.pos++;
      } else if (depth === 0 && /\s/.test(c)) {
        return;
      } else {
        this.pos++;
      }
    }
  }

  private space(): void {
    while (this.pos < this.text.length && /\s/.test(this.text.charAt(this.pos))) this.pos++;
  }
}
