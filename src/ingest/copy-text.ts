import type { IngestRow } from './ingest.repository';

/**
 * Ingested rows as PostgreSQL COPY text (the default format of COPY … FROM STDIN): one line
 * per row, columns tab-separated in `INGEST_COLUMNS` order, `\N` for NULL, backslash escapes
 * for backslash, newline, carriage return and tab. Built straight from the rows: cheaper in
 * the gateway than pg's array literals for `unnest` (no per-element quoting pass), and cheaper
 * for the server to parse (bench/ingest-db-profile.ts).
 */

const NULL = '\\N';
const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One value as COPY text; NUL characters are refused upstream (the mapping rejects the span). */
export function copyValue(v: string): string {
  return SPECIAL.test(v) ? v.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : v;
}

const text = (v: string | null): string => (v === null ? NULL : copyValue(v));
const num = (v: number | null): string => (v === null ? NULL : String(v));

/** Same columns, same order as INGEST_COLUMNS (the COPY statement's column list). */
export function copyLine(r: IngestRow): string {
  return (
    r.ts.toISOString() + '\t' +
    r.id + '\t' +
    r.trace_id + '\t' +
    r.span_id + '\t' +
    text(r.parent_span_id) + '\t' +
    text(r.org_id) + '\t' +
    text(r.project_id) + '\t' +
    text(r.provider) + '\t' +
    text(r.model) + '\t' +
    text(r.operation) + '\t' +
    text(r.user_id) + '\t' +
    text(r.session_id) + '\t' +
    text(r.environment) + '\t' +
    num(r.status_code) + '\t' +
    text(r.error_type) + '\t' +
    num(r.duration_ms) + '\t' +
    num(r.ttft_ms) + '\t' +
    num(r.prompt_tokens) + '\t' +
    num(r.completion_tokens) + '\t' +
    num(r.cached_tokens) + '\t' +
    num(r.total_tokens) + '\t' +
    num(r.prompt_cost_usd) + '\t' +
    num(r.completion_cost_usd) + '\t' +
    num(r.total_cost_usd) + '\t' +
    text(r.input) + '\t' +
    text(r.output) + '\t' +
    copyValue(JSON.stringify(r.metadata)) + '\n'
  );
}

/** The rows as COPY text, in chunks of about `chunkChars` characters (stream-sized writes). */
export function copyChunks(rows: readonly IngestRow[], chunkChars = 1 << 20): string[] {
  const chunks: string[] = [];
  let cur = '';
  for (const r of rows) {
    cur += copyLine(r);
    if (cur.length >= chunkChars) {
      chunks.push(cur);
      cur = '';
    }
  }
  if (cur) chunks.push(cur);
  return chunks;
}
