import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema';
import type { MappedRow } from './genai-mapping';

/** A mapped span with its tenancy decided. */
export interface IngestRow extends MappedRow {
  org_id: string;
  project_id: string;
}

/**
 * One statement for any number of rows: each column travels as one array parameter and
 * `unnest` turns them back into rows (27 parameters whatever the batch size, no 65,535-parameter
 * ceiling, one plan). Duplicates — a retried export, or the same span twice in one batch — meet
 * the unique (id, ts) index and are skipped. Returns the rows actually inserted.
 */
export async function insertIngestedTraces(db: Kysely<Database>, rows: readonly IngestRow[]): Promise<number> {
  if (!rows.length) return 0;
  const col = <K extends keyof IngestRow>(k: K) => rows.map((r) => r[k]);
  const result = await sql`
    /* insertIngestedTraces */
    INSERT INTO traces (ts, id, trace_id, span_id, parent_span_id, org_id, project_id, provider, model, operation,
                        user_id, session_id, environment, status_code, error_type, duration_ms, ttft_ms,
                        prompt_tokens, completion_tokens, cached_tokens, total_tokens,
                        prompt_cost_usd, completion_cost_usd, total_cost_usd, input, output, metadata)
    SELECT ts, id, trace_id, span_id, parent_span_id, org_id, project_id, provider, model, operation,
           user_id, session_id, environment, status_code, error_type, duration_ms, ttft_ms,
           prompt_tokens, completion_tokens, cached_tokens, total_tokens,
           prompt_cost_usd, completion_cost_usd, total_cost_usd, input, output, metadata::jsonb
      FROM unnest(
        ${col('ts').map((d) => d.toISOString())}::timestamptz[], ${col('id')}::uuid[], ${col('trace_id')}::text[], ${col('span_id')}::text[],
        ${col('parent_span_id')}::text[], ${col('org_id')}::text[], ${col('project_id')}::text[], ${col('provider')}::text[],
        ${col('model')}::text[], ${col('operation')}::text[], ${col('user_id')}::text[], ${col('session_id')}::text[],
        ${col('environment')}::text[], ${col('status_code')}::int[], ${col('error_type')}::text[], ${col('duration_ms')}::float8[],
        ${col('ttft_ms')}::float8[], ${col('prompt_tokens')}::int[], ${col('completion_tokens')}::int[], ${col('cached_tokens')}::int[],
        ${col('total_tokens')}::int[], ${col('prompt_cost_usd')}::numeric[], ${col('completion_cost_usd')}::numeric[],
        ${col('total_cost_usd')}::numeric[], ${col('input')}::text[], ${col('output')}::text[],
        ${rows.map((r) => JSON.stringify(r.metadata))}::text[]
      ) AS t(ts, id, trace_id, span_id, parent_span_id, org_id, project_id, provider, model, operation,
             user_id, session_id, environment, status_code, error_type, duration_ms, ttft_ms,
             prompt_tokens, completion_tokens, cached_tokens, total_tokens,
             prompt_cost_usd, completion_cost_usd, total_cost_usd, input, output, metadata)
    ON CONFLICT (id, ts) DO NOTHING`.execute(db);
  return Number(result.numAffectedRows ?? 0);
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
