import type { SeedScore, SeedTrace } from './spans';

/**
 * PostgreSQL COPY text format (the default of COPY ... FROM STDIN): tab-separated columns,
 * one row per line, \N for NULL, and backslash escapes for backslash, newline, carriage
 * return and tab inside values. Text format rather than CSV because it needs no quoting
 * decisions per value and PostgreSQL parses it slightly faster.
 */

export const COPY_NULL = '\\N';

const COPY_SPECIAL = /[\\\n\r\t\u0000]/;
const COPY_SPECIAL_ALL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function copyText(value: string): string {
  // One regex test per value is the whole cost for the (usual) clean value.
  if (!COPY_SPECIAL.test(value)) return value;
  if (value.includes('\u0000')) throw new Error('PostgreSQL text cannot contain NUL characters');
  return value.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c] as string);
}

export function copyNullableText(value: string | null): string {
  return value === null ? COPY_NULL : copyText(value);
}

const ARRAY_NEEDS_QUOTES = /[{}",\\\s]/;

/** A text[] literal ({a,"b c"}); quoting follows array_in's rules, then COPY escaping applies. */
export function pgTextArray(items: readonly string[]): string {
  const elements = items.map((item) =>
    item === '' || /^null$/i.test(item) || ARRAY_NEEDS_QUOTES.test(item) ? `"${item.replace(/["\\]/g, '\\$&')}"` : item,
  );
  return `{${elements.join(',')}}`;
}

export function copyJson(value: unknown): string {
  return copyText(JSON.stringify(value));
}

const JSON_STRING_NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/**
 * JSON text of a flat string-to-string object. Same output as JSON.stringify for clean keys
 * and values, which is every generated row, at a fraction of the cost.
 */
export function copyFlatJson(value: Readonly<Record<string, string>>): string {
  let out = '{';
  for (const key in value) {
    const v = value[key] as string;
    if (typeof v !== 'string' || JSON_STRING_NEEDS_ESCAPE.test(key) || JSON_STRING_NEEDS_ESCAPE.test(v)) return copyJson(value);
    out += (out.length > 1 ? ',"' : '"') + key + '":"' + v + '"';
  }
  return out + '}';
}

const YEAR_0000_MS = -62_167_219_200_000;
const YEAR_10000_MS = 253_402_300_800_000;

/** Rows arrive in time order, so consecutive timestamps mostly share their minute. */
let isoMinuteKey = NaN;
let isoMinutePrefix = '';

/** Same text as Date#toISOString() for years 0000-9999, reusing the "YYYY-MM-DDTHH:MM:" part. */
export function isoTimestamp(d: Date): string {
  const ms = d.getTime();
  if (!(ms >= YEAR_0000_MS && ms < YEAR_10000_MS)) return d.toISOString();
  const minute = Math.floor(ms / 60_000);
  if (minute !== isoMinuteKey) {
    isoMinuteKey = minute;
    isoMinutePrefix = d.toISOString().slice(0, 17);
  }
  const inMinute = ms - minute * 60_000;
  const sec = Math.floor(inMinute / 1000);
  const milli = inMinute - sec * 1000;
  return isoMinutePrefix + (sec < 10 ? '0' : '') + sec + '.' + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli + 'Z';
}

/** Column order of traceCopyLine; also the column list of the COPY statement. */
export const TRACE_COPY_COLUMNS = [
  'ts', 'id', 'trace_id', 'span_id', 'parent_span_id', 'org_id', 'project_id', 'provider', 'model', 'operation',
  'user_id', 'session_id', 'environment', 'status_code', 'error_type', 'duration_ms', 'ttft_ms', 'prompt_tokens',
  'completion_tokens', 'cached_tokens', 'total_tokens', 'prompt_cost_usd', 'completion_cost_usd', 'total_cost_usd',
  'input', 'output', 'metadata', 'tags',
] as const;

export const SCORE_COPY_COLUMNS = [
  'id', 'trace_id', 'ts', 'org_id', 'project_id', 'name', 'value', 'label', 'source', 'comment',
  'trace_ts', 'provider', 'model', 'environment',
] as const;

const nullableNumber = (v: number | null) => (v === null ? COPY_NULL : String(v));

/** numeric(14, 8): fixed notation, because String() would print 1e-7 for tiny costs. */
export const usd = (v: number) => v.toFixed(8);

// Rows are built as arrays and joined: one flat string per row instead of ~56 intermediate
// concatenations, which measurably dominated the load's CPU time on the Node side.
export function traceCopyLine(r: SeedTrace): string {
  return (
    [
      isoTimestamp(r.ts),
      copyText(r.id),
      copyText(r.trace_id),
      copyText(r.span_id),
      copyNullableText(r.parent_span_id),
      copyText(r.org_id),
      copyText(r.project_id),
      copyText(r.provider),
      copyText(r.model),
      copyText(r.operation),
      copyNullableText(r.user_id),
      copyNullableText(r.session_id),
      copyText(r.environment),
      String(r.status_code),
      copyNullableText(r.error_type),
      String(r.duration_ms),
      nullableNumber(r.ttft_ms),
      String(r.prompt_tokens),
      String(r.completion_tokens),
      String(r.cached_tokens),
      String(r.total_tokens),
      usd(r.prompt_cost_usd),
      usd(r.completion_cost_usd),
      usd(r.total_cost_usd),
      copyNullableText(r.input),
      copyNullableText(r.output),
      copyFlatJson(r.metadata),
      copyText(pgTextArray(r.tags)),
    ].join('\t') + '\n'
  );
}

export function scoreCopyLine(s: SeedScore): string {
  return (
    [
      copyText(s.id),
      copyText(s.trace_id),
      isoTimestamp(s.ts),
      copyText(s.org_id),
      copyText(s.project_id),
      copyText(s.name),
      nullableNumber(s.value),
      copyNullableText(s.label),
      copyText(s.source),
      copyNullableText(s.comment),
      isoTimestamp(s.trace_ts),
      copyText(s.provider),
      copyText(s.model),
      copyText(s.environment),
    ].join('\t') + '\n'
  );
}
