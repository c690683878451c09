import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema';
import type { MappedRow } from './genai-mapping';
import { copyChunks } from './copy-text';

/** A mapped span with its tenancy decided. */
export interface IngestRow extends MappedRow {
  org_id: string;
  project_id: string;
}

/** The columns of an ingested row, in the order of `INGEST_COLUMNS` and of the unnest() arrays. */
export const INGEST_COLUMNS = [
  'ts', 'id', 'trace_id', 'span_id', 'parent_span_id', 'org_id', 'project_id', 'provider', 'model', 'operation',
  'user_id', 'session_id', 'environment', 'status_code', 'error_type', 'duration_ms', 'ttft_ms',
  'prompt_tokens', 'completion_tokens', 'cached_tokens', 'total_tokens',
  'prompt_cost_usd', 'completion_cost_usd', 'total_cost_usd', 'input', 'output', 'metadata',
] as const;
const ARRAY_TYPES = [
  'timestamptz', 'uuid', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text',
  'text', 'text', 'text', 'int', 'text', 'float8', 'float8',
  'int', 'int', 'int', 'int', 'numeric', 'numeric', 'numeric', 'text', 'text', 'text',
] as const;

/** One array parameter per column (metadata as JSON text). */
export function ingestArrays(rows: readonly IngestRow[]): unknown[][] {
  return INGEST_COLUMNS.map((c) =>
    c === 'ts' ? rows.map((r) => r.ts.toISOString()) : c === 'metadata' ? rows.map((r) => JSON.stringify(r.metadata)) : rows.map((r) => r[c]),
  );
}

const COLS = INGEST_COLUMNS.join(', ');
/** `SELECT … FROM unnest($1::timestamptz[], …)`: the batch as rows. */
export const UNNEST_SELECT = `SELECT ${INGEST_COLUMNS.map((c) => (c === 'metadata' ? 'metadata::jsonb' : c)).join(', ')}
      FROM unnest(${ARRAY_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) AS t(${COLS})`;
/**
 * Skips ids already stored whatever their ts (NOT EXISTS: what keeps a span re-sent with another
 * start time single on TimescaleDB, where the unique index must include ts) and rows meeting
 * any unique index (ON CONFLICT without target: `traces_id_uq` on plain PostgreSQL, which
 * also settles two concurrent statements carrying the same span).
 */
export const INSERT_UNNEST = `/* insertIngestedTraces */ INSERT INTO traces (${COLS}) ${UNNEST_SELECT}
      WHERE NOT EXISTS (SELECT 1 FROM traces x WHERE x.id = t.id) ON CONFLICT DO NOTHING`;

/**
 * One statement for any number of rows: each column travels as one array parameter and
 * `unnest` turns them back into rows (27 parameters whatever the batch size, no 65,535-parameter
 * ceiling, one plan). Duplicates — a retried export, the same span re-sent with another start
 * time, the same span twice in one batch — are skipped: the row id is derived from (org, trace
 * id, span id) and unique (migration 20261204150000_span_identity). Returns the rows actually inserted.
 */
export async function insertIngestedTraces(db: Kysely<Database>, rows: readonly IngestRow[]): Promise<number> {
  if (!rows.length) return 0;
  const result = await db.executeQuery(CompiledQuery.raw(INSERT_UNNEST, ingestArrays(rows)));
  return Number(result.numAffectedRows ?? 0);
}

/** The staging table of one COPY batch: the ingested columns with their types, gone at commit. */
export const CREATE_STAGE = `/* copyIngestedTraces */ CREATE TEMP TABLE ingest_stage (${INGEST_COLUMNS.map((c, i) => `${c} ${c === 'metadata' ? 'jsonb' : ARRAY_TYPES[i]}`).join(', ')}) ON COMMIT DROP`;
export const COPY_STAGE = `COPY ingest_stage (${COLS}) FROM STDIN`;
/** ON CONFLICT without target: `traces_id_uq` (plain PostgreSQL) settles retries and concurrent duplicates. */
export const INSERT_FROM_STAGE = `/* copyIngestedTraces */ INSERT INTO traces (${COLS}) SELECT ${COLS} FROM ingest_stage ON CONFLICT DO NOTHING`;

/**
 * Plain PostgreSQL (`DATABASE_MODE=postgres`): the batch is COPYed into a temporary table made
 * in the same transaction (ON COMMIT DROP: no session state, so PgBouncer's transaction mode
 * is fine) and moved into `traces` by one INSERT … SELECT … ON CONFLICT DO NOTHING, so the
 * search-queue trigger sees every row inserted and retries stay single through the unique
 * `id` (no NOT EXISTS probe: plain PostgreSQL's unique index is on `id` alone). Measured
 * against the unnest statement in bench/ingest-db-profile.ts (fewer CPU µs per row in the
 * backend and no array literals in the gateway). All or nothing: one transaction. Returns the
 * rows actually inserted.
 */
export async function copyIngestedTraces(pool: pg.Pool, rows: readonly IngestRow[]): Promise<number> {
  if (!rows.length) return 0;
  const chunks = copyChunks(rows);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`BEGIN; ${CREATE_STAGE}`);
    await pipeline(Readable.from(chunks), client.query(copyFrom(COPY_STAGE)));
    const [inserted] = (await client.query(`${INSERT_FROM_STAGE}; COMMIT`)) as unknown as pg.QueryResult[];
    return inserted?.rowCount ?? 0;
  } catch (err) {
    // A COPY cut short may leave the protocol mid-stream: the connection is discarded, which
    // also rolls the transaction back.
    broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

export async function findOrgProjectIds(db: Kysely<Database>, orgId: string): Promise<string[]> {
  const rows = await db.selectFrom('projects').select('id').where('org_id', '=', orgId).modifyEnd(sql`/* findOrgProjectIds */`).execute();
  return rows.map((r) => r.id);
}

export interface PriceRow {
  provider: string;
  model: string;
  prompt: number;
  completion: number;
  cached: number;
  from: Date;
}

export async function findModelPrices(db: Kysely<Database>): Promise<PriceRow[]> {
  const rows = await db
    .selectFrom('model_prices')
    .select(['provider', 'model', 'prompt_usd_per_1k', 'completion_usd_per_1k', 'cached_usd_per_1k', 'effective_from'])
    .orderBy('effective_from', 'desc')
    .modifyEnd(sql`/* findModelPrices */`)
    .execute();
  return rows.map((r) => ({
    provider: r.provider,
    model: r.model,
    prompt: Number(r.prompt_usd_per_1k),
    completion: Number(r.completion_usd_per_1k),
    cached: Number(r.cached_usd_per_1k),
    from: new Date(r.effective_from),
  }));
}
