/**
 * Reading the files a config names: the JSON files themselves, and certificates, keys and
 * password lists, which are read once at load so that a missing file stops start-up with a
 * problem naming it instead of failing on the first connection.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cannotRead, type ConfigReport } from './report.js';

export type FileRead = { ok: true; file: string; data: Buffer } | { ok: false; message: string };

/** Reads `path` (relative to `dir`); an empty file is refused too: it is never a usable PEM. */
export function readConfiguredFile(dir: string, path: string): FileRead {
  const file = resolve(dir, path);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    return { ok: false, message: cannotRead(file, error) };
  }
  if (data.length === 0) return { ok: false, message: `file ${JSON.stringify(file)} is empty` };
  return { ok: true, file, data };
}

export type JsonRead = { ok: true; value: unknown } | { ok: false; message: string };

/** `where` is the file and JSON path a read failure is reported at (default: the file itself). */
export function readJsonFile(
  file: string,
  report: ConfigReport,
  where: { file: string; path: string } = { file, path: '$' },
): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    report.problem(where.file, where.path, cannotRead(file, error));
    return undefined;
  }
  // JSON.parse does the parsing; when it fails, a small scanner finds where, because Node 20's
  // messages carry no line/column and quote a slice of the file, which may hold a secret.
  const parsed = parseJson(text);
  if (!parsed.ok) {
    report.problem(file, '$', parsed.message);
    return undefined;
  }
  return parsed.value;
}

export function parseJson(source: string): JsonRead {
  // Windows editors save a BOM; JSON.parse rejects it and nothing else cares.
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    const error = findJsonError(text);
    const { line, column } = lineAndColumn(text, error.offset);
    return { ok: false, message: `invalid JSON at line ${line}, column ${column}: ${error.reason}` };
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class JsonSyntax {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

/** The first syntax error of `text` (RFC 8259), as an offset and a reason that quotes no content. */
export function findJsonError(text: string): { offset: number; reason: string } {
  if (text.trim() === '') return { offset: 0, reason: 'the file is empty' };
  try {
    const scanner = new Scanner(text);
    scanner.value();
    scanner.space();
    if (scanner.pos < text.length) scanner.fail('unexpected content after the end of the JSON document');
  } catch (error) {
    if (error instanceof JsonSyntax) return error;
    throw error;
  }
  // JSON.parse refused what this scanner accepts: only the reason is unknown, not the fact.
  return { offset: 0, reason: 'not valid JSON' };
}

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(reason: string, at: number = this.pos): never {
    throw new JsonSyntax(at, reason);
  }

  private unexpected(expected: string): never {
    if (this.pos >= this.text.length) this.fail(`unexpected end of file, expected ${expected}`);
    this.fail(`unexpected ${shown(this.text.charAt(this.pos))}, expected ${expected}`);
  }

  space(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text.charAt(this.pos))) this.pos++;
  }

  value(): void {
    this.space();
    const c = this.text.charAt(this.pos);
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    if (c === "'") this.fail('strings must use double quotes');
    this.unexpected('a value');
  }

  private object(): void {
    this.pos++;
    this.space();
    if (this.text.charAt(this.pos) === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.space();
      if (this.text.charAt(this.pos) !== '"') {
        if (this.text.charAt(this.pos) === '}') this.fail('trailing comma before "}"');
        this.unexpected('a property name in double quotes');
      }
      this.string();
      this.space();
      if (this.text.charAt(this.pos) !== ':') this.unexpected('":"');
      this.pos++;
      this.value();
      this.space();
      const c = this.text.charAt(this.pos);
      this.pos++;
      if (c === '}') return;
      if (c !== ',') {
        this.pos--;
        this.unexpected('"," or "}"');
      }
    }
  }

  private array(): void {
    this.pos++;
    this.space();
    if (this.text.charAt(this.pos) === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.space();
      if (this.text.charAt(this.pos) === ']') this.fail('trailing comma before "]"');
      this.value();
      this.space();
      const c = this.text.charAt(this.pos);
      this.pos++;
      if (c === ']') return;
      if (c !== ',') {
        this.pos--;
        this.unexpected('"," or "]"');
      }
    }
  }

  private string(): void {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.text.length) {
      const c = this.text.charAt(this.pos);
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c < ' ') this.fail('line break or control character inside a string (escape it)');
      if (c === '\\') {
        const e = this.text.charAt(this.pos + 1);
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) {
            this.fail('invalid \\u escape (four hex digits expected)');
          }
          this.pos += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e) || e === '') this.fail('invalid escape sequence in a string');
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.fail('unterminated string', start);
  }

  private number(): void {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos));
    if (match === null) this.fail('invalid number');
    this.pos += match[0].length;
  }
}

function shown(c: string): string {
  return c === '"' ? `'"'` : JSON.stringify(c);
}
