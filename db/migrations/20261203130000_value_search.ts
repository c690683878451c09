import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

/**
 * Text search over values only, field by field. The first search expression joined the five
 * fields with spaces and included `metadata::text`, so it matched JSON keys ("app_version" hit
 * every trace carrying that key) and phrases running from the end of one field into the next.
 *
 * Now: prompt, completion, model, user id and every scalar value of the metadata (at any depth;
 * keys never), lower-cased and joined with U+001F (unit separator). A search text may not
 * contain control characters (the service refuses them), so no match can span a separator:
 * each match lies inside one field or one metadata value. One immutable expression, one
 * trigram index (pg_trgm splits words on the separator like on any punctuation).
 */
export function valueSearch(_opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      const { rows } = await sql<{ available: boolean }>`
        SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AS available`.execute(db);
      await sql`CREATE OR REPLACE FUNCTION trace_metadata_values(metadata jsonb)
        RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT string_agg(v #>> '{}', chr(31))
                FROM jsonb_path_query(metadata, 'strict $.**') AS v
               WHERE jsonb_typeof(v) IN ('string', 'number', 'boolean') $$`.execute(db);
      // Qualified: index builds run with a safe search_path (PostgreSQL 17), where an
      // unqualified call of our own function is not found.
      const { rows: here } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
      const metadataValues = sql.id(here[0]!.schema, 'trace_metadata_values');
      await sql`CREATE OR REPLACE FUNCTION trace_search_values(input text, output text, model text, user_id text, metadata jsonb)
        RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT lower(concat_ws(chr(31), input, output, model, user_id, ${metadataValues}(metadata))) $$`.execute(db);
      if (rows[0]?.available) {
        await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
        await sql`CREATE INDEX IF NOT EXISTS traces_search_values_trgm_idx ON traces
          USING gin (trace_search_values(input, output, model, user_id, metadata) gin_trgm_ops)`.execute(db);
      }
      // The old expression is no longer queried: its index only cost writes and space.
      await sql`DROP INDEX IF EXISTS traces_search_trgm_idx`.execute(db);
    },
    async down(db: Kysely<any>): Promise<void> {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'pg_trgm'`.execute(db);
      if (rows[0]?.n) {
        await sql`CREATE INDEX IF NOT EXISTS traces_search_trgm_idx ON traces
          USING gin (trace_search_text(input, output, model, user_id, metadata) gin_trgm_ops)`.execute(db);
      }
      await sql`DROP INDEX IF EXISTS traces_search_values_trgm_idx`.execute(db);
      await sql`DROP FUNCTION IF EXISTS trace_search_values(text, text, text, text, jsonb)`.execute(db);
      await sql`DROP FUNCTION IF EXISTS trace_metadata_values(jsonb)`.execute(db);
    },
  };
}
