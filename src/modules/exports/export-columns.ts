import type { SchemaElement } from 'hyparquet';

/**
 * The columns an export can carry: the trace table's own names (snake_case), in table order.
 * For each, how PostgreSQL renders it for the text formats (CSV field, JSON value) and how it
 * is selected and typed for Parquet. Only names from this table ever reach SQL.
 */
export interface ExportColumn {
  readonly name: string;
  /** Prompt or completion text: needs TRACE_CONTENT_READ. */
  readonly content?: true;
  /** SQL producing the CSV field (never NULL: empty for NULL). */
  readonly csv: string;
  /** SQL producing the JSON value inside json_build_object. */
  readonly json: string;
  /** SQL selecting the value for Parquet (as `p_<name>`), and the Parquet schema element. */
  readonly parquet: string;
  readonly parquetType: Omit<SchemaElement, 'name'>;
  /** Converts the selected value to what hyparquet-writer takes for that type. */
  readonly toParquet?: (v: unknown) => unknown;
}

const TS_TEXT = `to_char(traces.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
/** RFC 4180: strings always quoted, quotes doubled; NULL is an empty field (an empty string is ""). */
const quoted = (expr: string) => `COALESCE('"' || replace(${expr}, '"', '""') || '"', '')`;
const plain = (expr: string) => `COALESCE((${expr})::text, '')`;
const bigint = (v: unknown) => (v == null ? null : BigInt(v as string));

const text = (name: string, required = true): ExportColumn => ({
  name,
  csv: quoted(`traces.${name}`),
  json: `traces.${name}`,
  parquet: `traces.${name}`,
  parquetType: { type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: required ? 'REQUIRED' : 'OPTIONAL' },
});
const int32 = (name: string): ExportColumn => ({
  name,
  csv: plain(`traces.${name}`),
  json: `traces.${name}`,
  parquet: `traces.${name}`,
  parquetType: { type: 'INT32', repetition_type: 'REQUIRED' },
});
const float64 = (name: string, required = true): ExportColumn => ({
  name,
  csv: plain(`traces.${name}`),
  json: `traces.${name}`,
  parquet: `traces.${name}`,
  parquetType: { type: 'DOUBLE', repetition_type: required ? 'REQUIRED' : 'OPTIONAL' },
});
/** numeric(14, 8) kept exact: text in CSV/JSON, DECIMAL(14, 8) on INT64 in Parquet. */
const usd = (name: string): ExportColumn => ({
  name,
  csv: plain(`traces.${name}`),
  json: `traces.${name}`,
  parquet: `(traces.${name} * 100000000)::bigint`,
  parquetType: { type: 'INT64', converted_type: 'DECIMAL', scale: 8, precision: 14, repetition_type: 'REQUIRED' },
  toParquet: bigint,
});

export const EXPORT_COLUMNS: readonly ExportColumn[] = [
  {
    name: 'ts',
    csv: TS_TEXT,
    json: TS_TEXT,
    // Microseconds since the epoch: the stored precision, exactly.
    parquet: `(extract(epoch FROM traces.ts) * 1000000)::bigint`,
    parquetType: { type: 'INT64', converted_type: 'TIMESTAMP_MICROS', repetition_type: 'REQUIRED' },
    toParquet: bigint,
  },
  { ...text('id'), csv: quoted('traces.id::text'), parquet: 'traces.id::text' },
  text('trace_id'),
  text('span_id'),
  text('parent_span_id', false),
  text('project_id'),
  text('provider'),
  text('model'),
  text('operation'),
  text('user_id', false),
  text('session_id', false),
  text('environment'),
  int32('status_code'),
  text('error_type', false),
  float64('duration_ms'),
  float64('ttft_ms', false),
  int32('prompt_tokens'),
  int32('completion_tokens'),
  int32('cached_tokens'),
  int32('total_tokens'),
  usd('prompt_cost_usd'),
  usd('completion_cost_usd'),
  usd('total_cost_usd'),
  { ...text('input', false), content: true },
  { ...text('output', false), content: true },
  {
    name: 'metadata',
    csv: quoted('traces.metadata::text'),
    json: 'traces.metadata',
    parquet: 'traces.metadata',
    parquetType: { type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'REQUIRED' },
  },
  {
    name: 'tags',
    csv: quoted('to_json(traces.tags)::text'),
    json: 'traces.tags',
    parquet: 'traces.tags',
    parquetType: { type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'REQUIRED' },
  },
];

const BY_NAME = new Map(EXPORT_COLUMNS.map((c) => [c.name, c]));

export const columnByName = (name: string): ExportColumn | undefined => BY_NAME.get(name);

/** Every column a caller may export: content columns only with content access. */
export const allowedColumns = (mayReadContent: boolean): string[] =>
  EXPORT_COLUMNS.filter((c) => mayReadContent || !c.content).map((c) => c.name);

export const isContentColumn = (name: string): boolean => Boolean(BY_NAME.get(name)?.content);
