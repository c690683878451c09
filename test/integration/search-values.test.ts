import { sql } from 'kysely';
import type { RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import type { NewTrace } from '../../src/db/schema';
import { indexSearchTail } from '../../src/db/search-indexer';
import { gql, startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { buildTraces, ensureOrgs, insertTraces, prng } from '../support/trace-builder';

/**
 * searchTraces matches prompt, completion, model, user id and metadata *values*, each on its
 * own: never a JSON key, never a phrase running from one field (or value) into the next.
 * Differential: embedded TimescaleDB, plain PostgreSQL, an independent SQL formulation and a
 * JavaScript one must all agree, and PostgreSQL must be able to answer from the index.
 */
const HOUR = 3_600_000;
const TO = new Date(Math.floor(Date.now() / HOUR) * HOUR);
const FROM = new Date(TO.getTime() - 48 * HOUR);
const ORGS = ['org_a', 'org_b'];
const WORDS = ['alpha', 'beta', 'gamma', 'flags', 'summary', 'needle', 'Mixed Case', 'app_version', 'x%y', 'under_score', '12345', 'ünïcödé'];

function rows(): NewTrace[] {
  const rand = prng(1313);
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)]!;
  const base = buildTraces(400, { from: FROM, to: TO, seed: 13, orgs: ORGS });
  for (const r of base) {
    // Metadata: keys drawn from the same words as the values, nested and with numbers and nulls.
    const meta: Record<string, unknown> = { [pick()]: pick(), nested: { [pick()]: [pick(), { deep: pick() }] }, n: Math.floor(rand() * 20000), nothing: null, ok: rand() < 0.5 };
    r.metadata = JSON.stringify(meta);
    r.input = `${pick()} ${pick()}`;
    r.output = rand() < 0.1 ? null : `${pick()} ${pick()}`;
  }
  const fixed = (over: Partial<NewTrace>): NewTrace => ({ ...base[0]!, id: crypto.randomUUID(), org_id: 'org_a', project_id: 'org_a_p0', ...over });
  base.push(
    fixed({ input: 'please summarize the zebras', output: 'quokka ready', metadata: JSON.stringify({ build_channel: '1.2.3' }) }),
    fixed({ input: 'q', output: 'a', metadata: JSON.stringify({ first: 'left half', second: 'right half' }) }),
    fixed({ input: 'q', output: 'a', metadata: JSON.stringify({ deep: { list: [{ inner: 'NeedleInHaystack' }] } }) }),
    fixed({ input: 'which region should we deploy to?', output: 'ok', metadata: JSON.stringify({ cloud: { zone: 'us-east-1' } }) }),
    fixed({ input: 'q', output: 'a', metadata: JSON.stringify({ region: 'us-east-1' }) }),
    fixed({ org_id: 'org_b', project_id: 'org_b_p0', input: 'NeedleInHaystack too', metadata: '{}' }),
  );
  return base;
}

/** The terms of a query, written independently: quoted phrases whole, other words split on spaces. */
const termsOf = (text: string) => [...text.matchAll(/"([^"]+)"|([^\s"]+)/g)].map((m) => (m[1] ?? m[2])!.trim());

/** The rule, written independently in JavaScript: every term in some field or scalar metadata value, each on its own. */
function jsMatches(r: NewTrace, text: string): boolean {
  return termsOf(text).every((t) => jsTermMatches(r, t));
}

function jsTermMatches(r: NewTrace, text: string): boolean {
  const t = text.toLowerCase();
  const values: string[] = [];
  const walk = (v: unknown) => {
    if (v === null) return;
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object') Object.values(v as object).forEach(walk);
    else values.push(String(v));
  };
  walk(JSON.parse(String(r.metadata)));
  return [r.input, r.output, r.model, r.user_id, ...values].some((f) => f != null && f.toLowerCase().includes(t));
}

describe('searchTraces: values only, field by field', () => {
  const modes: Record<string, { gw: RunningGateway; key: string; tdb?: TestDatabase }> = {};
  const data = rows();
  const queries = [
    'app_version', // a key, also a value in some rows' metadata
    '"flags summary"', // a phrase: within a field, never the end of the input + start of the output
    'flags summary', // two terms, each anywhere
    '"zebras quokka"', // a phrase only ever across the input and the output
    'zebras quokka', // two terms: the input has one, the output the other
    '"left half right"', // a phrase across two metadata values
    'left half right', // three terms over two metadata values
    'needleinhaystack', // deep value, case-insensitive
    'alpha beta gamma', // three terms
    '"alpha beta" gamma', // a phrase and a term
    'nested', // only ever a key
    'deep', // key everywhere, never a value
    '12345',
    'x%y',
    'under_score',
    'ünïcödé',
    'mixed case',
    'gpt-4o',
    'user_1',
    '"ha beta"', // "alpha beta" in a field
    '"a gamma"',
    '"mixed case"',
    'true', // boolean values are values
  ];

  beforeAll(async () => {
    for (const mode of ['embedded', 'postgres'] as const) {
      let tdb: TestDatabase | undefined;
      const env: Record<string, string> = { DEMO_DATA: 'false' };
      if (mode === 'postgres') {
        tdb = await createTestDatabase('search');
        Object.assign(env, { DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', SEARCH_INDEX_INTERVAL_MS: '0' });
      }
      const gw = await startTestGateway(env);
      await ensureOrgs(gw.services.database.db, ORGS);
      await insertTraces(gw.services.database.db, data);
      const key = (await createApiKey(gw.services.database.db, { orgId: 'org_a', name: 'search', role: 'ADMIN' })).key;
      modes[mode] = { gw, key, tdb };
    }
  }, 300_000);
  afterAll(async () => {
    for (const m of Object.values(modes)) {
      await m.gw.stop();
      await m.tdb?.drop();
    }
  });

  async function search(mode: string, text: string): Promise<string[]> {
    const m = modes[mode]!;
    const r = await gql(m.gw.url, m.key, 'query($q: String!) { searchTraces(query: $q, first: 1000) { totalCount nodes { id } } }', { q: text });
    expect(r.body.errors).toBeUndefined();
    const ids = r.body.data.searchTraces.nodes.map((n: { id: string }) => n.id).sort();
    expect(r.body.data.searchTraces.totalCount).toBe(ids.length);
    return ids;
  }

  it.each(queries)('%p: embedded, PostgreSQL, independent SQL and JavaScript agree', async (text) => {
    const expected = data.filter((r) => r.org_id === 'org_a' && jsMatches(r, text)).map((r) => r.id).sort();
    const termCondition = (term: string) => {
      const pattern = `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      return sql`(lower(input) LIKE ${pattern} OR lower(output) LIKE ${pattern} OR lower(model) LIKE ${pattern} OR lower(user_id) LIKE ${pattern}
              OR EXISTS (SELECT 1 FROM jsonb_path_query(t.metadata, 'strict $.**') v
                          WHERE jsonb_typeof(v) IN ('string', 'number', 'boolean') AND lower(v #>> '{}') LIKE ${pattern}))`;
    };
    const { rows: independent } = await sql<{ id: string }>`
      SELECT id FROM traces t
       WHERE org_id = 'org_a' AND ${sql.join(termsOf(text).map(termCondition), sql` AND `)}
       ORDER BY id`.execute(modes.postgres!.gw.services.database.db);
    expect(independent.map((r) => r.id).sort()).toEqual(expected);
    expect(await search('postgres', text)).toEqual(expected);
    expect(await search('embedded', text)).toEqual(expected);
  });

  it('never matches keys or across fields (the examples of the issue)', async () => {
    const keyOnly = await search('postgres', 'nested');
    expect(keyOnly).toEqual([]);
    expect(await search('postgres', 'build_channel')).toEqual([]);
    expect(await search('postgres', 'zebras')).toHaveLength(1);
    // A phrase never spans two values; two terms may lie in two values.
    expect(await search('postgres', '"zebras quokka"')).toEqual([]);
    expect(await search('postgres', 'zebras quokka')).toHaveLength(1);
    expect(await search('postgres', '"left half right"')).toEqual([]);
    expect(await search('postgres', 'left half right').then((x) => x.length)).toBeGreaterThanOrEqual(1);
    // The issue's example: both terms, each in a value (the prompt, a metadata value); the row
    // whose only "region" is a key has no match for that term.
    const region = await search('postgres', 'region us-east-1');
    expect(region).toHaveLength(1);
    expect(await search('embedded', 'region us-east-1')).toEqual(region);
    expect(await search('postgres', 'us-east-1').then((x) => x.length)).toBeGreaterThanOrEqual(2);
    // Keys are never values, whichever term names them.
    expect(await search('postgres', 'zebras build_channel')).toEqual([]);
    expect(await search('postgres', 'needleinhaystack')).toHaveLength(1); // org_a's only; org_b's row is not visible
  });

  it('refuses control characters in the search text', async () => {
    const m = modes.postgres!;
    const r = await gql(m.gw.url, m.key, 'query($q: String!) { searchTraces(query: $q) { nodes { id } } }', { q: 'flags\u001fsummary' });
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses short terms, unpaired quotes and too many terms with a clear message', async () => {
    const m = modes.postgres!;
    for (const [q, msg] of [
      ['gpt 4o', /at least 3 characters \("4o"\)/],
      ['"us east', /unpaired double quote/],
      ['aaa bbb ccc ddd eee fff ggg hhh iii', /at most 8 terms/],
      ['""  ""', /./],
    ] as const) {
      const r = await gql(m.gw.url, m.key, 'query($q: String!) { searchTraces(query: $q) { nodes { id } } }', { q });
      expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.body.errors?.[0]?.message).toMatch(msg);
    }
  });

  it('PostgreSQL: a row inserted a moment ago is found before the search indexer runs and after; results equal an independent ILIKE over all rows', async () => {
    const m = modes.postgres!;
    const db = m.gw.services.database.db;
    const fresh: NewTrace = { ...data[0]!, id: crypto.randomUUID(), org_id: 'org_a', project_id: 'org_a_p0', input: 'freshly ingested wombat', output: null, metadata: '{}' };
    await insertTraces(db, [fresh]);
    const pending = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM trace_search_pending WHERE id = ${fresh.id}`.execute(db)).rows[0]!.n;
    // Independent of trace_search_values: ILIKE over every field and scalar metadata value of all rows.
    const independent = async (term: string) => {
      const p = `%${term}%`;
      return (
        await sql<{ id: string }>`SELECT id FROM traces t WHERE org_id = 'org_a' AND (input ILIKE ${p} OR output ILIKE ${p} OR model ILIKE ${p} OR user_id ILIKE ${p}
            OR EXISTS (SELECT 1 FROM jsonb_path_query(t.metadata, 'strict $.**') v WHERE jsonb_typeof(v) IN ('string', 'number', 'boolean') AND (v #>> '{}') ILIKE ${p}))`.execute(db)
      ).rows.map((r) => r.id).sort();
    };
    // Before: the row waits in the pending tail (no turn of the indexer has run since the insert).
    expect(await pending()).toBe(1);
    expect(await search('postgres', 'wombat')).toEqual([fresh.id]);
    expect(await search('postgres', 'alpha')).toEqual(await independent('alpha'));
    // After: the indexer moves it (and everything else) into trace_search.
    while ((await indexSearchTail(m.gw.services.database, 100_000)).moved > 0);
    expect(await pending()).toBe(0);
    // (New query texts: the field cache keeps earlier answers.)
    expect(await search('postgres', '"ingested wombat"')).toEqual([fresh.id]);
    expect(await search('postgres', 'beta')).toEqual(await independent('beta'));
    // Embedded (TimescaleDB, index on traces): found at once as well (first asked only now: the field cache is not purged on insert).
    await insertTraces(modes.embedded!.gw.services.database.db, [fresh]);
    expect(await search('embedded', 'wombat')).toEqual([fresh.id]);
    await sql`DELETE FROM traces WHERE id = ${fresh.id}`.execute(db);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM trace_search WHERE id = ${fresh.id}`.execute(db)).rows[0]!.n).toBe(0);
    expect(await search('postgres', 'freshly wombat')).toEqual([]);
    await sql`DELETE FROM traces WHERE id = ${fresh.id}`.execute(modes.embedded!.gw.services.database.db);
  });

  it('is served by the trigram index on PostgreSQL with several terms', async () => {
    while ((await indexSearchTail(modes.postgres!.gw.services.database, 100_000)).moved > 0);
    const db = modes.postgres!.gw.services.database.db;
    const plan = await db.connection().execute(async (c) => {
      await sql`SET enable_seqscan = off`.execute(c);
      const { rows: p } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT id FROM trace_search WHERE v LIKE '%zebras%' AND v LIKE '%quokka%'`.execute(c);
      await sql`RESET enable_seqscan`.execute(c);
      return p.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('trace_search_v_trgm_idx');
    expect(plan).toMatch(/Index Cond:.*zebras.*quokka|Index Cond:[\s\S]*quokka/);
  });

  it('is served by the trigram index on PostgreSQL', async () => {
    const db = modes.postgres!.gw.services.database.db;
    const plan = await db.connection().execute(async (c) => {
      await sql`SET enable_seqscan = off`.execute(c);
      const { rows: p } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT id FROM trace_search WHERE v LIKE '%needle%'`.execute(c);
      await sql`RESET enable_seqscan`.execute(c);
      return p.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('trace_search_v_trgm_idx');
  });
});
