/**
 * The `${…}` template language of the chargePoints mapping (value, deviceNameExpression,
 * valueExpression). A template is literal text with placeholders `${PATH}`; see path.ts for the
 * path grammar. Everything is decided at compile time (path steps, key spellings, literal chunks,
 * JSON string context) so render() only walks the scope and concatenates.
 */
import { TemplateSyntaxError } from '../errors.js';
import { parsePath, type FilterLiteral, type FilterStep, type PathStep, type SimpleStep } from './path.js';
import type { CompiledTemplate, RenderResult, TemplateMode } from './types.js';

export type { CompiledTemplate, RenderResult, TemplateMode } from './types.js';
export { toCamelCase, toSnakeCase } from './path.js';

interface Placeholder {
  readonly steps: readonly PathStep[];
  /** Mode 'json' only: the placeholder stands inside a JSON string literal of the template. */
  readonly inJsonString: boolean;
  /** Shared and frozen: a miss allocates nothing. */
  readonly missing: RenderResult;
}

export function compileTemplate(source: string, mode: TemplateMode = 'text'): CompiledTemplate {
  const literals: string[] = [];
  const placeholders: Placeholder[] = [];
  const texts: string[] = [];
  const json = { inString: false, escaped: false };
  let literalStart = 0;
  for (;;) {
    const open = source.indexOf('${', literalStart);
    if (open < 0) break;
    const close = findClose(source, open);
    if (close === open + 2) throw new TemplateSyntaxError(`empty placeholder at ${open}`, open);
    const literal = source.slice(literalStart, open);
    scanJsonString(literal, json);
    const text = source.slice(open + 2, close);
    literals.push(literal);
    texts.push(text);
    placeholders.push({
      steps: parsePath(source, open + 2, close),
      inJsonString: json.inString,
      missing: Object.freeze({ ok: false, missing: text }),
    });
    // A backslash just before a placeholder escapes nothing in the rendered text.
    json.escaped = false;
    literalStart = close + 1;
  }
  literals.push(source.slice(literalStart));
  return new Template(source, mode, literals, placeholders, texts);
}

/**
 * Index of the `}` that closes the placeholder opened at `open`: the first one, except inside a
 * quoted string within brackets (`${a[?(@.b=='}')]}`).
 */
function findClose(source: string, open: number): number {
  let depth = 0;
  let quote = '';
  let quoteAt = -1;
  for (let i = open + 2; i < source.length; i++) {
    const c = source.charAt(i);
    if (quote !== '') {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '}') {
      return i;
    } else if (c === '[') {
      depth++;
    } else if (c === ']') {
      if (depth > 0) depth--;
    } else if (depth > 0 && (c === "'" || c === '"')) {
      quote = c;
      quoteAt = i;
    }
  }
  const why = quote === '' ? '' : `: the string opened at ${quoteAt} is never closed`;
  throw new TemplateSyntaxError(`unclosed "\${" at ${open}${why}`, open);
}

/** Advances a JSON-string-aware state machine over literal template text. */
function scanJsonString(text: string, state: { inString: boolean; escaped: boolean }): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (!state.inString) {
      if (c === '"') state.inString = true;
    } else if (state.escaped) {
      state.escaped = false;
    } else if (c === '\\') {
      state.escaped = true;
    } else if (c === '"') {
      state.inString = false;
    }
  }
}

class Template implements CompiledTemplate {
  readonly source: string;
  readonly placeholders: readonly string[];
  readonly isSinglePlaceholder: boolean;
  private readonly mode: TemplateMode;
  /** One more than parts: literals[i] precedes parts[i]. */
  private readonly literals: readonly string[];
  private readonly parts: readonly Placeholder[];
  private readonly constant: RenderResult | undefined;
  // Scratch for resolvePath; render is synchronous, so one per template is enough.
  private readonly match: PathMatch = { value: undefined, timestamp: undefined };

  constructor(
    source: string,
    mode: TemplateMode,
    literals: readonly string[],
    parts: readonly Placeholder[],
    texts: readonly string[],
  ) {
    this.source = source;
    this.mode = mode;
    this.literals = literals;
    this.parts = parts;
    this.placeholders = Object.freeze([...texts]);
    this.isSinglePlaceholder = parts.length === 1 && literals[0] === '' && literals[1] === '';
    this.constant =
      parts.length === 0 ? Object.freeze({ ok: true, value: source, timestamp: undefined }) : undefined;
  }

  render(scope: unknown): RenderResult {
    if (this.constant !== undefined) return this.constant;
    const match = this.match;
    const parts = this.parts;
    if (this.isSinglePlaceholder) {
      const part = parts[0]!;
      if (!resolvePath(part.steps, scope, match)) return part.missing;
      const result: RenderResult = { ok: true, value: match.value, timestamp: match.timestamp };
      match.value = undefined; // do not keep the last message alive
      return result;
    }
    let text = this.literals[0]!;
    let timestamp: string | undefined;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (!resolvePath(part.steps, scope, match)) {
        match.value = undefined;
        return part.missing;
      }
      if (timestamp === undefined) timestamp = match.timestamp;
      text += this.format(match.value, part.inJsonString) + this.literals[i + 1]!;
    }
    match.value = undefined;
    return { ok: true, value: text, timestamp };
  }

  private format(value: unknown, inJsonString: boolean): string {
    if (this.mode === 'text') return typeof value === 'string' ? value : JSON.stringify(value);
    if (!inJsonString) return JSON.stringify(value);
    const raw = typeof value === 'string' ? value : JSON.stringify(value);
    return JSON.stringify(raw).slice(1, -1);
  }
}

/** Filled in by resolvePath; reused across renders so a lookup allocates nothing. */
interface PathMatch {
  value: unknown;
  timestamp: string | undefined;
}

/**
 * Depth-first; the first match in document order wins (as the Python connector's JSONPath
 * `find(...)[0]`). Returns false when nothing matches; a JSON null is a match.
 */
function resolvePath(steps: readonly PathStep[], scope: unknown, out: PathMatch): boolean {
  return walk(scope, steps, 0, undefined, out);
}

function walk(
  node: unknown,
  steps: readonly PathStep[],
  i: number,
  timestamp: string | undefined,
  out: PathMatch,
): boolean {
  if (node === undefined) return false;
  if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
    // The deepest timestamp on the way down is the sample's own (meterValue[n].timestamp).
    const ts = (node as Record<string, unknown>)['timestamp'];
    if (typeof ts === 'string') timestamp = ts;
  }
  const step = steps[i];
  if (step === undefined) {
    out.value = node;
    out.timestamp = timestamp;
    return true;
  }
  if (step.kind === 'key' || step.kind === 'index') {
    return walk(simpleStep(node, step), steps, i + 1, timestamp, out);
  }
  if (typeof node !== 'object' || node === null) return false;
  if (Array.isArray(node)) {
    for (let n = 0; n < node.length; n++) {
      const child: unknown = node[n];
      if (step.kind === 'filter' && !matchesFilter(child, step)) continue;
      if (walk(child, steps, i + 1, timestamp, out)) return true;
    }
    return false;
  }
  const record = node as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const child = record[key];
    if (step.kind === 'filter' && !matchesFilter(child, step)) continue;
    if (walk(child, steps, i + 1, timestamp, out)) return true;
  }
  return false;
}

function simpleStep(node: unknown, step: SimpleStep): unknown {
  if (typeof node !== 'object' || node === null) return undefined;
  if (step.kind === 'key') {
    if (Array.isArray(node)) return undefined;
    const record = node as Record<string, unknown>;
    for (let k = 0; k < step.keys.length; k++) {
      const key = step.keys[k]!;
      const value = record[key];
      // hasOwn keeps `${constructor}` or `${toString}` from reaching Object.prototype.
      if (value !== undefined && Object.hasOwn(record, key)) return value;
    }
    return undefined;
  }
  if (!Array.isArray(node)) return undefined;
  const index = step.index < 0 ? node.length + step.index : step.index;
  return index >= 0 ? (node[index] as unknown) : undefined;
}

/** An element whose `@` path does not resolve never matches, for `!=` too (as jsonpath-ng). */
function matchesFilter(element: unknown, filter: FilterStep): boolean {
  let value = element;
  for (let s = 0; s < filter.path.length; s++) {
    value = simpleStep(value, filter.path[s]!);
    if (value === undefined) return false;
  }
  const literal = filter.literal;
  switch (filter.op) {
    case 'exists':
      return Boolean(value);
    case '==':
      return value === literal;
    case '!=':
      return value !== literal;
    case '<':
      return order(value, literal) < 0;
    case '<=':
      return order(value, literal) <= 0;
    case '>':
      return order(value, literal) > 0;
    case '>=':
      return order(value, literal) >= 0;
  }
}

/** Ordering only between two numbers or two strings; NaN (never matches) otherwise: no coercion. */
function order(value: unknown, literal: FilterLiteral): number {
  if (typeof value === 'number' && typeof literal === 'number') {
    return value < literal ? -1 : value > literal ? 1 : 0;
  }
  if (typeof value === 'string' && typeof literal === 'string') {
    return value < literal ? -1 : value > literal ? 1 : 0;
  }
  return NaN;
}
