import { sql } from 'kysely';
import type { Scope } from '../../src/auth/viewer';
import { loadConfig, type Config } from '../../src/config';
import { openDatabase, type DatabaseHandle } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';

/**
 * A test context for repository and loader tests (after Kysely's example/test/test-context.ts):
 * the embedded database (PGlite, in memory) is opened and migrated once per file; before each
 * test every table the migrations left empty is truncated, so each test seeds only what it
 * reads. Tables the migrations fill (reference data) are left as migrated.
 *
 *   const t = useTestContext();
 *   it('…', async () => { await insertTraces(t.db.db, rows); … findTraces(t.db.readDb, …) });
 */
export interface TestContext {
  /** The open database (valid inside tests and hooks). */
  readonly db: DatabaseHandle;
  readonly config: Config;
  /** What services and loaders take: the database and the config. */
  readonly services: { database: DatabaseHandle; config: Config };
  /** Counts, from now on, the statements whose SQL carries the name (repositories end each query with a named comment). */
  statements(name: string): { count(): number };
}

export const scope = (orgId: string, projectIds: readonly string[] | null = null): Scope => ({ orgId, projectIds });

export function useTestContext(env: Record<string, string> = {}): TestContext {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ROLLUP_REFRESH_INTERVAL_MS: '0', ...env });
  let handle: DatabaseHandle | undefined;
  let truncate = sql``;
  const seen: string[] = [];

  beforeAll(async () => {
    handle = await openDatabase(config, { inMemory: true });
    await migrateToLatest(handle);
    handle.addQueryListener((e) => {
      if (e.level === 'query') seen.push(e.query.sql);
    });
    const { rows } = await sql<{ t: string }>`
      SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS t FROM pg_tables
       WHERE schemaname = 'public' AND tablename NOT LIKE 'kysely_migration%'`.execute(handle.db);
    const empty: string[] = [];
    for (const { t } of rows) {
      const { rows: any } = await sql<{ x: number }>`SELECT 1 AS x FROM ${sql.raw(t)} LIMIT 1`.execute(handle.db);
      if (!any.length) empty.push(t);
    }
    truncate = sql`TRUNCATE ${sql.raw(empty.join(', '))} RESTART IDENTITY CASCADE`;
  }, 120_000);

  beforeEach(async () => {
    await truncate.execute(handle!.db);
    seen.length = 0;
  });

  afterAll(async () => {
    await handle?.close();
  });

  return {
    get db() {
      if (!handle) throw new Error('useTestContext: the database opens in beforeAll');
      return handle;
    },
    config,
    get services() {
      return { database: this.db, config };
    },
    statements(name) {
      const from = seen.length;
      return { count: () => seen.slice(from).filter((s) => s.includes(`/* ${name}`)).length };
    },
  };
}
