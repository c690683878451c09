import { sql, type Kysely } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';

export function coreTables(opts: MigrationOptions) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (opts.timescale) await sql`CREATE EXTENSION IF NOT EXISTS timescaledb`.execute(db);

      await db.schema
        .createTable('orgs')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();

      await db.schema
        .createTable('projects')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('projects_org_idx').ifNotExists().on('projects').column('org_id').execute();

      await db.schema
        .createTable('api_keys')
        .ifNotExists()
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('key_prefix', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) =>
          c.notNull().check(sql`role IN ('ADMIN','DEVELOPER','VIEWER','BILLING')`),
        )
        .addColumn('project_ids', sql`text[]`)
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('revoked_at', 'timestamptz')
        .addColumn('last_used_at', 'timestamptz')
        .execute();

      await db.schema
        .createTable('model_prices')
        .ifNotExists()
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('prompt_usd_per_1k', 'numeric(12, 6)', (c) => c.notNull())
        .addColumn('completion_usd_per_1k', 'numeric(12, 6)', (c) => c.notNull())
        .addColumn('cached_usd_per_1k', 'numeric(12, 6)', (c) => c.notNull().defaultTo(0))
        .addColumn('effective_from', 'timestamptz', (c) => c.notNull().defaultTo(sql`'1970-01-01'`))
        .addPrimaryKeyConstraint('model_prices_pk', ['provider', 'model', 'effective_from'])
        .execute();

      await db.schema
        .createTable('traces')
        .ifNotExists()
        .addColumn('ts', 'timestamptz', (c) => c.notNull())
        .addColumn('id', 'uuid', (c) => c.notNull())
        .addColumn('trace_id', 'text', (c) => c.notNull())
        .addColumn('span_id', 'text', (c) => c.notNull())
        .addColumn('parent_span_id', 'text')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull().defaultTo('chat'))
        .addColumn('user_id', 'text')
        .addColumn('session_id', 'text')
        .addColumn('environment', 'text', (c) => c.notNull().defaultTo('production'))
        .addColumn('status_code', 'integer', (c) => c.notNull().defaultTo(200))
        .addColumn('error_type', 'text')
        .addColumn('duration_ms', 'double precision', (c) => c.notNull())
        .addColumn('ttft_ms', 'double precision')
        .addColumn('prompt_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('completion_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cached_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('total_tokens', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('prompt_cost_usd', 'numeric(14, 8)', (c) => c.notNull().defaultTo(0))
        .addColumn('completion_cost_usd', 'numeric(14, 8)', (c) => c.notNull().defaultTo(0))
        .addColumn('total_cost_usd', 'numeric(14, 8)', (c) => c.notNull().defaultTo(0))
        .addColumn('input', 'text')
        .addColumn('output', 'text')
        .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('tags', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
        .execute();

      if (opts.timescale) {
        await sql`SELECT create_hypertable('traces', 'ts', chunk_time_interval => interval '1 day', if_not_exists => true)`.execute(
          db,
        );
      }

      // A hypertable's unique indexes must contain the time column.
      await sql`CREATE UNIQUE INDEX IF NOT EXISTS traces_id_ts_uq ON traces (id, ts)`.execute(db);
      // Tenancy scan and keyset paging: every list query filters by org and orders by ts, id.
      await sql`CREATE INDEX IF NOT EXISTS traces_org_ts_idx ON traces (org_id, ts DESC, id DESC)`.execute(db);
      // The seed document's eight indexes, each for a filter the API offers.
      await sql`CREATE INDEX IF NOT EXISTS traces_project_ts_idx ON traces (project_id, ts DESC)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS traces_provider_idx ON traces (provider)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS traces_model_idx ON traces (model)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS traces_user_idx ON traces (user_id)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS traces_status_idx ON traces (status_code)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS traces_session_ts_idx ON traces (session_id, ts DESC)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS traces_cost_idx ON traces (total_cost_usd)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS traces_duration_idx ON traces (duration_ms)`.execute(db);
      // trace(id) related calls: spans of one trace.
      await sql`CREATE INDEX IF NOT EXISTS traces_trace_id_idx ON traces (trace_id)`.execute(db);

      await db.schema
        .createTable('scores')
        .ifNotExists()
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('trace_id', 'uuid', (c) => c.notNull())
        .addColumn('ts', 'timestamptz', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('label', 'text')
        .addColumn('source', 'text', (c) => c.notNull().check(sql`source IN ('human','llm','heuristic')`))
        .addColumn('comment', 'text')
        .execute();
      await sql`CREATE INDEX IF NOT EXISTS scores_trace_idx ON scores (trace_id)`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS scores_org_ts_idx ON scores (org_id, ts DESC)`.execute(db);

      await db.schema
        .createTable('export_jobs')
        .ifNotExists()
        .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('filter', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('PENDING'))
        .addColumn('row_count', 'bigint')
        .addColumn('location', 'text')
        .addColumn('error', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('finished_at', 'timestamptz')
        .execute();
      await sql`CREATE INDEX IF NOT EXISTS export_jobs_org_idx ON export_jobs (org_id, created_at DESC)`.execute(db);
    },

    async down(db: Kysely<any>): Promise<void> {
      for (const t of ['export_jobs', 'scores', 'traces', 'model_prices', 'api_keys', 'projects', 'orgs']) {
        await db.schema.dropTable(t).ifExists().cascade().execute();
      }
    },
  };
}
