import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { openDatabase, type DatabaseHandle } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { buildReferenceData, generateSeedRows, type SeedTrace } from '../../db/seed/generator';
import { seedDatabase, type SeedResult } from '../../db/seed/loader';
import { CopySink, InsertSink } from '../../db/seed/sinks';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const END_AT = new Date('2026-11-20T12:00:00.000Z');
const OPTS = { traces: 20_000, days: 14, orgs: 3, seed: 11, endAt: END_AT };

interface Fresh {
  tdb: TestDatabase;
  handle: DatabaseHandle;
}

async function freshDatabase(): Promise<Fresh> {
  const tdb = await createTestDatabase('seed');
  const handle = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
  await migrateToLatest(handle);
  return { tdb, handle };
}

async function closeAll(...fresh: Array<Fresh | undefined>): Promise<void> {
  for (const f of fresh) {
    await f?.handle.close().catch(() => undefined);
    await f?.tdb.drop();
  }
}

async function totals(handle: DatabaseHandle) {
  const { rows } = await sql<{ traces: string; cost: string; scores: string }>`
    SELECT (SELECT count(*) FROM traces) AS traces, (SELECT sum(total_cost_usd)::text FROM traces) AS cost,
           (SELECT count(*) FROM scores) AS scores`.execute(handle.db);
  const perModel = await handle.db.selectFrom('traces').select(['model', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('model').orderBy('model').execute();
  return { ...rows[0], perModel };
}

async function traceIndexes(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ def: string }>`SELECT indexdef AS def FROM pg_indexes WHERE tablename = 'traces' ORDER BY indexname`.execute(handle.db);
  return rows.map((r) => r.def);
}

/** Sum of costs in units of 1e-8 USD, computed from the generator without any database. */
function expectedCostText(traces: readonly SeedTrace[]): string {
  const units = traces.reduce((sum, t) => sum + Math.round(t.total_cost_usd * 1e8), 0);
  return `${Math.floor(units / 1e8)}.${String(units % 1e8).padStart(8, '0')}`;
}

describe('seedDatabase on PostgreSQL (COPY)', () => {
  let a: Fresh | undefined;
  let b: Fresh | undefined;
  let resultA: SeedResult;
  let resultB: SeedResult;
  const expected = generateSeedRows(OPTS);

  beforeAll(async () => {
    a = await freshDatabase();
    b = await freshDatabase();
    // Two index strategies, which must not change a single row.
    resultA = await seedDatabase(a.handle, OPTS, { deferIndexes: false });
    resultB = await seedDatabase(b.handle, OPTS, { deferIndexes: true });
  });

  afterAll(() => closeAll(a, b));

  it('loads every generated row and the reference data', async () => {
    const db = (a as Fresh).handle.db;
    expect(resultA).toMatchObject({ traces: 20_000, scores: expected.scores.length, method: 'copy' });
    expect(resultA.rowsPerSecond).toBeGreaterThan(0);
    const t = await totals((a as Fresh).handle);
    expect(Number(t.traces)).toBe(20_000);
    expect(Number(t.scores)).toBe(expected.scores.length);
    const ref = buildReferenceData(OPTS);
    expect((await db.selectFrom('orgs').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(ref.orgs.map((o) => o.id).sort());
    expect(await db.selectFrom('projects').select('id').execute()).toHaveLength(ref.projects.length);
    expect(await db.selectFrom('model_prices').select('model').execute()).toHaveLength(ref.modelPrices.length);
  });

  it('gives identical totals on a second fresh database, equal to the generator', async () => {
    const ta = await totals((a as Fresh).handle);
    const tb = await totals((b as Fresh).handle);
    expect(tb).toEqual(ta);
    expect(ta.cost).toBe(expectedCostText(expected.traces));
    expect(resultB.scores).toBe(resultA.scores);
  });

  it('stores rows exactly as generated', async () => {
    const sample = expected.traces[4321] as SeedTrace;
    const row = await (a as Fresh).handle.db.selectFrom('traces').selectAll().where('id', '=', sample.id).executeTakeFirstOrThrow();
    expect(row).toEqual({
      ...sample,
      prompt_cost_usd: sample.prompt_cost_usd.toFixed(8),
      completion_cost_usd: sample.completion_cost_usd.toFixed(8),
      total_cost_usd: sample.total_cost_usd.toFixed(8),
    });
  });

  it('restores every index after a deferred load', async () => {
    const defs = await traceIndexes((b as Fresh).handle);
    expect(defs).toEqual(await traceIndexes((a as Fresh).handle));
    expect(defs.length).toBeGreaterThanOrEqual(12);
  });

  it('rolls a failed load back completely, dropped indexes included', async () => {
    const before = await traceIndexes((b as Fresh).handle);
    // The same seed again collides with its own ids.
    await expect(seedDatabase((b as Fresh).handle, OPTS, { deferIndexes: true })).rejects.toThrow(/duplicate key|unique/i);
    const t = await totals((b as Fresh).handle);
    expect(Number(t.traces)).toBe(20_000);
    expect(Number(t.scores)).toBe(expected.scores.length);
    expect(await traceIndexes((b as Fresh).handle)).toEqual(before);
    // The pool still works after the aborted COPY.
    await expect(sql`SELECT 1`.execute((b as Fresh).handle.db)).resolves.toBeDefined();
  });
});

describe('seedDatabase across storage modes and escaping', () => {
  let c: Fresh | undefined;
  let embedded: DatabaseHandle | undefined;
  const small = { traces: 3000, days: 3, orgs: 2, seed: 5, endAt: END_AT };

  beforeAll(async () => {
    c = await freshDatabase();
    embedded = await openDatabase(loadConfig({}), { inMemory: true });
    await migrateToLatest(embedded);
  });

  afterAll(async () => {
    await embedded?.close();
    await closeAll(c);
  });

  it('writes the same rows through INSERTs into the embedded database as through COPY', async () => {
    const viaCopy = await seedDatabase((c as Fresh).handle, small);
    const viaInsert = await seedDatabase(embedded as DatabaseHandle, small);
    expect(viaCopy.method).toBe('copy');
    expect(viaInsert.method).toBe('insert');
    expect(await totals(embedded as DatabaseHandle)).toEqual(await totals((c as Fresh).handle));
    const id = generateSeedRows(small).traces[1234]?.id as string;
    const pick = (h: DatabaseHandle) => h.db.selectFrom('traces').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(await pick(embedded as DatabaseHandle)).toEqual(await pick((c as Fresh).handle));
  });

  it('round-trips awkward text, jsonb and text[] values through COPY and INSERT', async () => {
    const handle = (c as Fresh).handle;
    const [base] = generateSeedRows({ ...small, traces: 1, seed: 99 }).traces as [SeedTrace];
    const awkward = (id: string): SeedTrace => ({
      ...base,
      id,
      parent_span_id: null,
      user_id: 'user\twith tab',
      input: 'tab\there\nnewline\r\\backslash "quotes" \\N ünïcödé 🎉',
      output: '\\',
      metadata: { 'we"ird': 'va\\l\nue', emoji: '🎉', empty: '' },
      tags: ['two words', 'comma,here', '{brace}', 'quote"', 'back\\slash', '', 'NULL'],
    });
    const viaCopy = awkward('00000000-0000-4000-8000-000000000001');
    const viaInsert = awkward('00000000-0000-4000-8000-000000000002');
    const copy = await CopySink.open(handle.pool, { incomingTraces: 1, deferTraceIndexes: false });
    await copy.write({ traces: [viaCopy], scores: [] });
    await copy.finish();
    await handle.db.transaction().execute((trx) => new InsertSink(trx).write({ traces: [viaInsert], scores: [] }));
    for (const expectedRow of [viaCopy, viaInsert]) {
      const row = await handle.db.selectFrom('traces').selectAll().where('id', '=', expectedRow.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        user_id: expectedRow.user_id,
        input: expectedRow.input,
        output: expectedRow.output,
        metadata: expectedRow.metadata,
        tags: expectedRow.tags,
        parent_span_id: null,
        total_cost_usd: expectedRow.total_cost_usd.toFixed(8),
      });
    }
  });
});

describe('npm run seed', () => {
  let d: TestDatabase | undefined;
  const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
  const cli = path.resolve(__dirname, '../../db/seed/cli.ts');
  const run = (args: string[]) => spawnSync(tsx, [cli, ...args], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' }, timeout: 90_000 });

  beforeAll(async () => {
    d = await createTestDatabase('seed_cli');
  });
  afterAll(() => d?.drop());

  it('migrates, seeds, refreshes rollups and reports the rate', async () => {
    const res = run(['--traces', '3000', '--days', '2', '--orgs', '2', '--seed', '3', '--database-url', (d as TestDatabase).url]);
    expect(res.stderr).toMatch(/100\.0%\s+3,000\/3,000 traces/);
    expect(res.stdout).toMatch(/^Seeded 3,000 traces and [\d,]+ scores in [\d.]+ s \([\d,]+ rows\/s end to end, copy\): loading [\d.]+ s at [\d,]+ rows\/s \(the progress rate\), then indexes and ANALYZE [\d.]+ s/);
    expect(res.status).toBe(0);
    // The progress line's last rate is the summary's loading rate: one definition, printed twice.
    const progressRates = [...res.stderr.matchAll(/([\d,]+) rows\/s loading/g)].map((m) => m[1]);
    expect(progressRates.at(-1)).toBe(/loading [\d.]+ s at ([\d,]+) rows\/s/.exec(res.stdout)?.[1]);
    const handle = await openDatabase(loadConfig({ DATABASE_URL: (d as TestDatabase).url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    try {
      const { rows } = await sql<{ n: string }>`SELECT sum(request_count)::text AS n FROM traces_1hour`.execute(handle.db);
      expect(Number(rows[0]?.n)).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }
  });

  it('refuses to append to a database that holds traces unless --append or --reset', async () => {
    const url = (d as TestDatabase).url;
    const count = async () => {
      const handle = await openDatabase(loadConfig({ DATABASE_URL: url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
      try {
        const { rows } = await sql<{ n: string; keys: string }>`SELECT (SELECT count(*) FROM traces)::text AS n, (SELECT count(*) FROM api_keys)::text AS keys`.execute(handle.db);
        return { traces: Number(rows[0]?.n), keys: Number(rows[0]?.keys) };
      } finally {
        await handle.close();
      }
    };
    const before = await count();
    expect(before.traces).toBe(3000);
    const again = run(['--traces', '3000', '--days', '2', '--orgs', '2', '--seed', '3', '--database-url', url]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already holds 3,000 traces: nothing written\. --append adds 3,000 more; --reset drops all data/);
    expect(await count()).toEqual(before);

    const appended = run(['--traces', '500', '--days', '2', '--orgs', '2', '--seed', '4', '--append', '--database-url', url]);
    expect(appended.status).toBe(0);
    expect((await count()).traces).toBe(3500);

    const reset = run(['--traces', '700', '--days', '2', '--orgs', '2', '--seed', '5', '--reset', '--database-url', url]);
    expect(reset.status).toBe(0);
    expect(reset.stderr).toMatch(/Reset: dropped 3,500 traces/);
    expect((await count()).traces).toBe(700);
  }, 120_000);

  it('exits with code 2 on bad arguments', () => {
    const res = run(['--traces', 'lots']);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/--traces must be an integer >= 1, got "lots"/);
  });
});
