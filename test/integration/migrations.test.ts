import { sql } from 'kysely';
import { migrateAllDown, migrateToLatest } from '../../src/db/migrator';
import { MODES, openMode, type ModeFixture } from '../support/modes';
import { FAMILY_ROLLUPS } from '../../db/migrations/rollup-definitions';

const TABLES = ['orgs', 'projects', 'api_keys', 'model_prices', 'traces', 'scores', 'export_jobs', 'rollup_state'];
const ROLLUPS = ['traces_1min', 'traces_1hour', 'traces_1day', ...FAMILY_ROLLUPS.map((r) => r.name)];

async function relations(f: ModeFixture): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')`.execute(f.handle.db);
  return rows.map((r) => r.name);
}

describe.each(MODES)('migrations in %s mode', (mode) => {
  let f: ModeFixture;
  beforeAll(async () => {
    f = await openMode(mode);
  });
  afterAll(async () => {
    await f.cleanup();
  });

  it('migrates up, is idempotent, migrates down and up again', async () => {
    const first = await migrateToLatest(f.handle);
    expect(first.every((r) => r.status === 'Success')).toBe(true);
    expect(first.length).toBeGreaterThanOrEqual(4);
    expect(await migrateToLatest(f.handle)).toEqual([]);
    const rels = await relations(f);
    for (const t of [...TABLES, ...ROLLUPS]) expect(rels).toContain(t);

    const down = await migrateAllDown(f.handle);
    expect(down.every((r) => r.status === 'Success')).toBe(true);
    const after = await relations(f);
    for (const t of [...TABLES, ...ROLLUPS]) expect(after).not.toContain(t);

    expect((await migrateToLatest(f.handle)).length).toBe(first.length);
  });

  it('creates the seed document indexes on traces', async () => {
    const { rows } = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'traces'`.execute(f.handle.db);
    const defs = rows.map((r) => r.indexdef.replace(/\s+/g, ' '));
    for (const expected of [
      '(project_id, ts DESC)',
      '(provider)',
      '(model)',
      '(user_id)',
      '(status_code)',
      '(session_id, ts DESC)',
      '(total_cost_usd)',
      '(duration_ms)',
    ]) {
      expect(defs.some((d) => d.endsWith(expected))).toBe(true);
    }
  });

  if (mode === 'embedded') {
    it('uses TimescaleDB: hypertable, continuous aggregates, compression and retention policies', async () => {
      const ht = await sql<{ n: number }>`SELECT count(*)::int AS n FROM timescaledb_information.hypertables WHERE hypertable_name = 'traces'`.execute(f.handle.db);
      expect(ht.rows[0]?.n).toBe(1);
      const caggs = await sql<{ view_name: string }>`SELECT view_name FROM timescaledb_information.continuous_aggregates`.execute(f.handle.db);
      expect(caggs.rows.map((r) => r.view_name).sort()).toEqual([...ROLLUPS].sort());
      const jobs = await sql<{ proc_name: string; hypertable_name: string }>`
        SELECT proc_name, hypertable_name FROM timescaledb_information.jobs WHERE proc_name LIKE 'policy_%'`.execute(f.handle.db);
      const procs = jobs.rows.map((r) => r.proc_name);
      expect(procs.filter((p) => p === 'policy_refresh_continuous_aggregate')).toHaveLength(ROLLUPS.length);
      expect(procs).toContain('policy_compression');
      expect(procs).toContain('policy_retention');
      const comp = await sql<{ segmentby: string | null; orderby: string | null }>`
        SELECT attname AS segmentby, NULL AS orderby FROM timescaledb_information.compression_settings
         WHERE hypertable_name = 'traces' AND segmentby_column_index IS NOT NULL ORDER BY segmentby_column_index`.execute(f.handle.db);
      expect(comp.rows.map((r) => r.segmentby)).toEqual(['project_id', 'provider', 'model']);
    });
  } else {
    it('creates plain rollup tables with the same columns as the continuous aggregates', async () => {
      const { rows } = await sql<{ column_name: string }>`
        SELECT column_name FROM information_schema.columns WHERE table_name = 'traces_1hour' ORDER BY ordinal_position`.execute(f.handle.db);
      const cols = rows.map((r) => r.column_name);
      expect(cols.slice(0, 8)).toEqual(['bucket', 'org_id', 'project_id', 'provider', 'model', 'environment', 'request_count', 'error_count']);
      expect(cols).toContain('latency_hist');
      const ext = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'`.execute(f.handle.db);
      expect(ext.rows[0]?.n).toBe(0);
    });
  }
});
