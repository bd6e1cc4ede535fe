/**
 * The path inside one `${…}` placeholder, parsed once into steps (template.ts walks them).
 *
 * path    := "$" step* | first step*     ("$.a" is "$" then ".a"; "$a" is the key "$a")
 * first   := key | "*" | bracket
 * step    := "." key | ".*" | bracket
 * bracket := "[" int "]" | "[*]" | "[:]" | "['key']" | "[\"key\"]"
 *          | "[?(@" simple* [ op literal ] ")]"
 * simple  := "." key | "[" int "]" | "['key']"          (filter paths take no wildcards)
 * op      := == | != | < | <= | > | >=
 * literal := 'text' | "text" | number | true | false | null
 */
import { TemplateSyntaxError } from '../errors.js';

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type FilterLiteral = string | number | boolean | null;

/** Steps a filter's `@` path may take. */
export type SimpleStep =
  /** Candidate spellings, tried in order: as written, camelCase, snake_case. */
  | { readonly kind: 'key'; readonly keys: readonly string[] }
  /** Negative counts from the end. */
  | { readonly kind: 'index'; readonly index: number };

export interface FilterStep {
  readonly kind: 'filter';
  readonly path: readonly SimpleStep[];
  readonly op: CompareOp | 'exists';
  readonly literal: FilterLiteral;
}

export type PathStep = SimpleStep | { readonly kind: 'wildcard' } | FilterStep;

/** `meter_value` → `meterValue`; leading, trailing and doubled underscores are kept. */
export function toCamelCase(key: string): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charAt(i);
    const next = key.charAt(i + 1);
    if (c === '_' && i > 0 && key.charAt(i - 1) !== '_' && next !== '' && next !== '_') {
      out += next.toUpperCase();
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

/** `connectorId` → `connector_id`, `HTTPServer` → `http_server`, `Vendor` → `vendor`. */
export function toSnakeCase(key: string): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charAt(i);
    if (isUpper(c) && i > 0) {
      const prev = key.charAt(i - 1);
      if (isLower(prev) || isDigit(prev) || (isUpper(prev) && isLower(key.charAt(i + 1)))) out += '_';
    }
    out += c.toLowerCase();
  }
  return out;
}

const isUpper = (c: string): boolean => c !== '' && c !== c.toLowerCase();
const isLower = (c: string): boolean => c !== '' && c !== c.toUpperCase();
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

export function keyCandidates(key: string): string[] {
  const keys = [key];
  for (const k of [toCamelCase(key), toSnakeCase(key)]) if (!keys.includes(k)) keys.push(k);
  return keys;
}

/** Parses `source.slice(start, end)`; error positions are offsets in the whole template. */
export function parsePath(source: string, start: number, end: number): PathStep[] {
  return new PathParser(source, start, end).parse();
}

// Characters that end a dot-notation key; anything else (including non-ASCII) may appear in one.
const KEY_STOP = new Set([...'.[]()\'"=!<>@?*,{}\\']);

class PathParser {
  private readonly src: string;
  private readonly start: number;
  private readonly end: number;
  private pos: number;
  /** Offset of the `[` of the filter being parsed, so errors can quote the whole filter. */
  private filterAt = -1;

  constructor(src: string, start: number, end: number) {
    this.src = src;
    this.start = start;
    this.end = end;
    this.pos = start;
  }

  parse(): PathStep[] {
    const steps: PathStep[] = [];
    const after = this.src.charAt(this.pos + 1);
    if (this.peek() === '$' && (this.pos + 1 === this.end || after === '.' || after === '[')) {
      this.pos++;
      if (this.peek() === '.') {
        this.pos++;
        steps.push(this.dotStep());
      }
    } else if (this.peek() !== '[') {
      steps.push(this.dotStep());
    }
    while (this.pos < this.end) {
      const c = this.peek();
      if (c === '.') {
        this.pos++;
        if (this.peek() === '.') throw this.error('recursive descent ".." is not supported');
        steps.push(this.dotStep());
      } else if (c === '[') {
        steps.push(this.bracketStep());
      } else {
        throw this.error(`unexpected ${JSON.stringify(c)}`);
      }
    }
    return steps;
  }

  private peek(): string {
    return this.pos < this.end ? this.src.charAt(this.pos) : '';
  }

  private dotStep(): PathStep {
    if (this.peek() === '*') {
      this.pos++;
      return { kind: 'wildcard' };
    }
    return this.keyStep(this.readKey());
  }

  private keyStep(key: string): SimpleStep {
    return { kind: 'key', keys: keyCandidates(key) };
  }

  private readKey(): string {
    const from = this.pos;
    while (this.pos < this.end) {
      const c = this.src.charAt(this.pos);
      if (KEY_STOP.has(c) || c.trim() === '') break;
      this.pos++;
    }
    if (this.pos === from) throw this.error('expected a key');
    return this.src.slice(from, this.pos);
  }

  private bracketStep(): PathStep {
    const open = this.pos++;
    const c = this.peek();
    if (c === '*' || c === ':') {
      this.pos++;
      if (c === ':' && this.peek() !== ']') throw this.error('slices other than [:] are not supported');
      this.expect(']');
      return { kind: 'wildcard' };
    }
    if (c === '?') return this.filter(open);
    return this.simpleBracket();
  }

  /** After `[`: a quoted key or an integer index, then `]`. */
  private simpleBracket(): SimpleStep {
    const c = this.peek();
    let step: SimpleStep;
    if (c === "'" || c === '"') {
      step = this.keyStep(this.readQuoted());
    } else if (c === '-' || isDigit(c)) {
      step = { kind: 'index', index: this.readInteger() };
      if (this.peek() === ':') throw this.error('slices other than [:] are not supported');
      if (this.peek() === '.') throw this.error('an index must be an integer');
    } else {
      throw this.error(
        c === '' ? 'expected an index, a quoted key, *, : or a filter' : `unexpected ${JSON.stringify(c)}`,
      );
    }
    this.expect(']');
    return step;
  }

  private filter(open: number): PathStep {
    this.filterAt = open;
    this.pos++; // '?'
    this.expect('(');
    this.skipSpaces();
    this.expect('@');
    const path: SimpleStep[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '.') {
        this.pos++;
        if (this.peek() === '*') throw this.error('wildcards and filters are not supported inside a filter');
        path.push(this.keyStep(this.readKey()));
      } else if (c === '[') {
        this.pos++;
        const inner = this.peek();
        if (inner === '*' || inner === ':' || inner === '?') {
          throw this.error('wildcards and filters are not supported inside a filter');
        }
        path.push(this.simpleBracket());
      } else {
        break;
      }
    }
    this.skipSpaces();
    let op: CompareOp | 'exists' = 'exists';
    let literal: FilterLiteral = null;
    if (this.peek() !== ')') {
      op = this.readOperator();
      this.skipSpaces();
      literal = this.readLiteral();
      this.skipSpaces();
    }
    this.expect(')');
    this.expect(']');
    this.filterAt = -1;
    return { kind: 'filter', path, op, literal };
  }

  private readOperator(): CompareOp {
    const two = this.src.slice(this.pos, Math.min(this.pos + 2, this.end));
    if (two === '==' || two === '!=' || two === '<=' || two === '>=') {
      this.pos += 2;
      return two;
    }
    const one = this.peek();
    if (one === '<' || one === '>') {
      this.pos++;
      return one;
    }
    throw this.error('expected one of == != < <= > >= or ")"');
  }

  private readLiteral(): FilterLiteral {
    const c = this.peek();
    if (c === "'" || c === '"') return this.readQuoted();
    if (c === '-' || isDigit(c)) return this.readNumber();
    const from = this.pos;
    while (/[a-z]/i.test(this.peek())) this.pos++;
    const word = this.src.slice(from, this.pos);
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    this.pos = from;
    throw this.error('expected a literal: \'text\', "text", a number, true, false or null');
  }

  private readQuoted(): string {
    const from = this.pos;
    const quote = this.src.charAt(this.pos++);
    let out = '';
    while (this.pos < this.end) {
      const c = this.src.charAt(this.pos++);
      if (c === quote) return out;
      // A backslash takes the next character literally: \' \" \\ (no \n-style escapes).
      out += c === '\\' && this.pos < this.end ? this.src.charAt(this.pos++) : c;
    }
    this.pos = from;
    throw this.error('unterminated string');
  }

  private readInteger(): number {
    const from = this.pos;
    if (this.peek() === '-') this.pos++;
    const digits = this.pos;
    while (isDigit(this.peek())) this.pos++;
    if (this.pos === digits) throw this.error('expected digits');
    return Number(this.src.slice(from, this.pos));
  }

  private readNumber(): number {
    const from = this.pos;
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.src.slice(this.pos, this.end));
    if (m === null) throw this.error('expected a number');
    this.pos += m[0].length;
    return Number(this.src.slice(from, this.pos));
  }

  private skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  private expect(c: string): void {
    if (this.peek() !== c) {
      const got = this.peek();
      throw this.error(`expected "${c}"${got === '' ? '' : ` but found ${JSON.stringify(got)}`}`);
    }
    this.pos++;
  }

  private error(reason: string): TemplateSyntaxError {
    if (this.filterAt >= 0) {
      const text = this.src.slice(this.filterAt, filterEnd(this.src, this.filterAt, this.end));
      return new TemplateSyntaxError(
        `bad filter ${JSON.stringify(text)} at ${this.pos}: ${reason}`,
        this.pos,
      );
    }
    const placeholder = '${' + this.src.slice(this.start, this.end) + '}';
    return new TemplateSyntaxError(`${reason} at ${this.pos} in ${JSON.stringify(placeholder)}`, this.pos);
  }
}

/** End (exclusive) of the bracket opened at `open`, honouring nested brackets and quotes. */
function filterEnd(src: string, open: number, end: number): number {
  let depth = 0;
  let quote = '';
  for (let i = open; i < end; i++) {
    const c = src.charAt(i);
    if (quote !== '') {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i + 1;
  }
  return end;
}
