import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

/**
 * Text search over prompt, completion, model, user and metadata: one immutable expression,
 * indexed with trigrams so that ILIKE '%term%' does not scan millions of rows. Without
 * pg_trgm (some managed servers) the function still exists and search works unindexed.
 */
export function traceSearch(_opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      const { rows } = await sql<{ available: boolean }>`
        SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AS available`.execute(db);
      await sql`CREATE OR REPLACE FUNCTION trace_search_text(input text, output text, model text, user_id text, metadata jsonb)
        RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT lower(concat_ws(' ', input, output, model, user_id, metadata::text)) $$`.execute(db);
      if (rows[0]?.available) {
        await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
        await sql`CREATE INDEX IF NOT EXISTS traces_search_trgm_idx ON traces
          USING gin (trace_search_text(input, output, model, user_id, metadata) gin_trgm_ops)`.execute(db);
      }
      // Tags filter (tags @> ARRAY[...]).
      await sql`CREATE INDEX IF NOT EXISTS traces_tags_idx ON traces USING gin (tags)`.execute(db);
    },
    async down(db: Kysely<any>): Promise<void> {
      await sql`DROP INDEX IF EXISTS traces_tags_idx`.execute(db);
      await sql`DROP INDEX IF EXISTS traces_search_trgm_idx`.execute(db);
      await sql`DROP FUNCTION IF EXISTS trace_search_text(text, text, text, text, jsonb)`.execute(db);
    },
  };
}
