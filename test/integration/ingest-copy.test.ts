import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { openDatabase, type DatabaseHandle } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { indexSearchTail } from '../../src/db/search-indexer';
import { rowIdFor } from '../../src/ingest/genai-mapping';
import { INGEST_COLUMNS, copyIngestedTraces, insertIngestedTraces, type IngestRow } from '../../src/ingest/ingest.repository';
import { findTraces } from '../../src/modules/traces/traces.repository';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * The plain-PostgreSQL write path of ingestion (copyIngestedTraces: COPY into a staging table,
 * one INSERT … SELECT … ON CONFLICT DO NOTHING): stores exactly what the unnest statement
 * stores, column by column, whatever the content holds (tabs, newlines, backslashes, `\N`,
 * quotes, non-BMP characters); a retried batch adds nothing; every row it inserts is queued
 * for the search indexer in its own transaction and is found by search before and after the
 * indexer moves it.
 */

const NOW = Date.now() - 60_000;

function row(org: string, i: number, over: Partial<IngestRow> = {}): IngestRow {
  const traceId = `${(i + 1).toString(16).padStart(8, '0')}${'a'.repeat(24)}`;
  const spanId = `${(i + 1).toString(16).padStart(8, '0')}${'b'.repeat(8)}`;
  return {
    ts: new Date(NOW + i * 1.5),
    id: rowIdFor(org, traceId, spanId),
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: i % 2 ? null : 'c'.repeat(16),
    org_id: org,
    project_id: 'copy-app',
    provider: 'openai',
    model: 'gpt-4o',
    operation: 'chat',
    user_id: i % 3 ? `user_${i}` : null,
    session_id: null,
    environment: 'production',
    status_code: 200,
    error_type: null,
    duration_ms: 812.25 + i,
    ttft_ms: i % 2 ? null : 120.5,
    prompt_tokens: 1000 + i,
    completion_tokens: 100,
    cached_tokens: 0,
    total_tokens: 1100 + i,
    prompt_cost_usd: 1e-7 * (i + 1),
    completion_cost_usd: 0.001,
    total_cost_usd: 0.001 + 1e-7 * (i + 1),
    input: `prompt ${i}`,
    output: `completion ${i}`,
    metadata: { source: 'otlp', span_name: `chat ${i}` },
    ...over,
  };
}

/** Content that COPY's text format must escape, and what it must not mangle. */
const TRICKY: Partial<IngestRow>[] = [
  { input: 'tab\there\nnewline\r\nCRLF and a backslash \\ and \\N and \\t literally', output: '' },
  { input: '\\N', output: null, user_id: 'user\twith\ttabs' },
  { input: 'quotes " \' {braces} [brackets], commas; emoji 🦓 and é', output: 'zebras quokka\\' },
  { metadata: { source: 'otlp', span_name: 'tab\tname', nested: 'back\\slash "quoted"\nline', service: 'svc' } },
  { error_type: 'Timeout\\Error', status_code: 504, session_id: 'sess\\1' },
];

describe('copyIngestedTraces (plain PostgreSQL write path)', () => {
  let tdb: TestDatabase;
  let handle: DatabaseHandle;
  const stored = async (org: string) =>
    (await sql<Record<string, unknown>>`SELECT ${sql.raw(INGEST_COLUMNS.join(', '))} FROM traces WHERE org_id = ${org} ORDER BY ts`.execute(handle.db)).rows.map(
      ({ id: _id, org_id: _org, ...rest }) => rest,
    );
  const count = async (org: string) => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traces WHERE org_id = ${org}`.execute(handle.db)).rows[0]!.n);

  beforeAll(async () => {
    tdb = await createTestDatabase('i15w_copy');
    handle = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', LOG_LEVEL: 'silent' }));
    await migrateToLatest(handle);
  }, 120_000);
  afterAll(async () => {
    await handle?.close();
    await tdb?.drop();
  });

  it('stores exactly what the unnest statement stores, column by column', async () => {
    const batch = (org: string) => [...TRICKY.map((over, i) => row(org, i, over)), ...Array.from({ length: 200 }, (_, i) => row(org, TRICKY.length + i))];
    expect(await insertIngestedTraces(handle.db, batch('org_unnest'))).toBe(205);
    expect(await copyIngestedTraces(handle.pool, batch('org_copy'))).toBe(205);
    const viaCopy = await stored('org_copy');
    expect(viaCopy).toHaveLength(205);
    expect(viaCopy).toEqual(await stored('org_unnest'));
    // And what was sent, for the values that need escaping.
    expect(viaCopy[0]).toMatchObject({ input: TRICKY[0]!.input, output: '' });
    expect(viaCopy[1]).toMatchObject({ input: '\\N', output: null, user_id: 'user\twith\ttabs' });
    expect(viaCopy[3]!.metadata).toEqual(TRICKY[3]!.metadata);
  });

  it('a retried batch adds nothing; a batch mixing new and stored spans adds the new ones', async () => {
    const org = 'org_retry';
    const first = Array.from({ length: 300 }, (_, i) => row(org, i));
    expect(await copyIngestedTraces(handle.pool, first)).toBe(300);
    expect(await copyIngestedTraces(handle.pool, first)).toBe(0);
    // Re-sent with other start times (a collector rewriting timestamps): still the same rows.
    expect(await copyIngestedTraces(handle.pool, first.map((r) => ({ ...r, ts: new Date(r.ts.getTime() + 5000) })))).toBe(0);
    const mixed = [...first.slice(0, 100), ...Array.from({ length: 50 }, (_, i) => row(org, 300 + i))];
    expect(await copyIngestedTraces(handle.pool, mixed)).toBe(50);
    // Two concurrent copies of the same batch: one row each.
    const again = Array.from({ length: 100 }, (_, i) => row(org, 1000 + i));
    const [a, b] = await Promise.all([copyIngestedTraces(handle.pool, again), copyIngestedTraces(handle.pool, again)]);
    expect(a + b).toBe(100);
    expect(await count(org)).toBe(450);
  });

  it('queues every inserted row for the search indexer, and search finds it before and after indexing', async () => {
    const org = 'org_search';
    const rows = Array.from({ length: 120 }, (_, i) => row(org, i, i === 7 ? { input: 'the platypus\tsings' } : {}));
    expect(await copyIngestedTraces(handle.pool, rows)).toBe(120);
    const pending = await sql<{ n: number }>`SELECT count(*)::int AS n FROM trace_search_pending p JOIN traces t ON t.id = p.id WHERE t.org_id = ${org}`.execute(handle.db);
    expect(pending.rows[0]!.n).toBe(120);
    const search = async () =>
      (await findTraces(handle.db, { scope: { orgId: org, projectIds: null }, filter: {}, orderBy: 'TIMESTAMP', direction: 'DESC', limit: 10, after: null, search: ['platypus'], searchIndexing: 'deferred' })).map((r) => r.id);
    expect(await search()).toEqual([rows[7]!.id]);
    while ((await indexSearchTail(handle, 100_000)).moved > 0);
    const indexed = await sql<{ n: number }>`SELECT count(*)::int AS n FROM trace_search s JOIN traces t ON t.id = s.id WHERE t.org_id = ${org}`.execute(handle.db);
    expect(indexed.rows[0]!.n).toBe(120);
    expect(await search()).toEqual([rows[7]!.id]);
    // A retry inserts nothing and so queues nothing.
    expect(await copyIngestedTraces(handle.pool, rows)).toBe(0);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM trace_search_pending`.execute(handle.db)).rows[0]!.n).toBe(0);
  });

  it('a batch the database refuses writes nothing and leaves the pool usable', async () => {
    const org = 'org_refused';
    const rows = Array.from({ length: 50 }, (_, i) => row(org, i));
    // A NUL character cannot be stored in text: the whole COPY fails, nothing of the batch stays.
    const bad = [...rows.slice(0, 49), { ...rows[49]!, output: 'nul \u0000 here' }];
    await expect(copyIngestedTraces(handle.pool, bad)).rejects.toThrow();
    expect(await count(org)).toBe(0);
    expect(await copyIngestedTraces(handle.pool, rows)).toBe(50);
    expect(await count(org)).toBe(50);
  });
});
