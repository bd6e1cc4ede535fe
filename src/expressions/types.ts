/**
 * The `${…}` template language: see src/expressions/template.ts for the grammar.
 * A template is compiled once (at config load) into a CompiledTemplate; rendering does no parsing.
 */
export type TemplateMode =
  /** Uplink mapping and device names: strings insert as-is, other values as JSON. */
  | 'text'
  /**
   * Downlink payloads (valueExpression): the rendered text is meant to be JSON. A placeholder that
   * stands inside a JSON string literal in the template (`"…${x}…"`) inserts the value's text with
   * JSON string escaping; any other placeholder inserts the value as JSON (`${params}` → `{"a":1}`).
   */
  | 'json';

export type RenderResult =
  | {
      ok: true;
      /**
       * A template that is exactly one placeholder yields the resolved JSON value with its type
       * (number, boolean, object, …); any other template yields a string.
       */
      value: unknown;
      /**
       * The `timestamp` string of the deepest object on the resolved path(s) that has one
       * (for `${meterValue[0].sampledValue[0].value}` that is meterValue[0].timestamp; for a
       * top-level field of StopTransaction it is the message's own timestamp). Undefined if none.
       */
      timestamp: string | undefined;
    }
  | {
      ok: false;
      /** The placeholder (as written between `${` and `}`) that did not resolve. */
      missing: string;
    };

export interface CompiledTemplate {
  readonly source: string;
  /** Placeholder paths in order of appearance, as written. */
  readonly placeholders: readonly string[];
  /** True when the template is exactly one placeholder and nothing else. */
  readonly isSinglePlaceholder: boolean;
  render(scope: unknown): RenderResult;
}
