import { sql } from 'kysely';
import type { NewTrace } from '../../../src/db/schema';
import { countTraces, findRootSpanOfTrace, findTraces, findTracesByIds } from '../../../src/modules/traces/traces.repository';
import { findSessions, findSessionsByIds } from '../../../src/modules/sessions/sessions.repository';
import { findScoresByTraceIds } from '../../../src/modules/quality/quality.repository';
import { countScoreLabels, countScoredTraces, sumScoresByName } from '../../../src/query/score-stats.repository';
import { findExactLatencyPercentiles, sumTraceStats } from '../../../src/query/trace-stats.repository';
import { buildTraces, ensureOrgs, insertTraces } from '../../support/trace-builder';
import { scope, useTestContext } from '../../support/test-context';

/**
 * Repositories called directly against the embedded database, each answer compared with SQL
 * written here (not built from the repositories' helpers), in two orgs that share session,
 * user and model names: the tenant boundary is in every comparison.
 */
const t = useTestContext();
const FROM = new Date('2026-11-01T00:00:00Z');
const TO = new Date('2026-11-04T00:00:00Z');
const ORGS = ['org_a', 'org_b'] as const;

async function seed(n = 400): Promise<NewTrace[]> {
  await ensureOrgs(t.db.db, [...ORGS]);
  const rows = buildTraces(n, { from: FROM, to: TO, seed: 23 });
  // A few multi-span traces: the root is the parentless span.
  for (let i = 0; i < 30; i += 3) {
    const root = rows[i]!;
    for (const r of rows.slice(i + 1, i + 3)) Object.assign(r, { trace_id: root.trace_id, org_id: root.org_id, project_id: root.project_id, parent_span_id: root.span_id });
  }
  await insertTraces(t.db.db, rows);
  return rows;
}

const raw = async <R>(q: ReturnType<typeof sql<R>>) => (await q.execute(t.db.db)).rows;
const round = (x: number) => Math.round(x * 1e6) / 1e6;

describe('traces repository', () => {
  it('findTraces: keyset pages by cost walk the same order as ORDER BY cost, ts, id within the org', async () => {
    await seed();
    for (const org of ORGS) {
      const want = await raw(sql<{ id: string }>`
        SELECT id FROM traces WHERE org_id = ${org} AND model = 'gpt-4o' ORDER BY total_cost_usd DESC, ts DESC, id DESC`);
      const got: string[] = [];
      let after: { ordering: string; value: string; ts: string; id: string } | null = null;
      for (;;) {
        const page = await findTraces(t.db.readDb, { scope: scope(org), filter: { models: ['gpt-4o'] }, orderBy: 'COST', direction: 'DESC', limit: 7, after });
        got.push(...page.map((r) => r.id));
        if (page.length < 7) break;
        const last = page[page.length - 1]!;
        after = { ordering: 'COST:DESC', value: last.total_cost_usd, ts: last.ts_key, id: last.id };
      }
      expect(got).toEqual(want.map((w) => w.id));
      expect(got.length).toBeGreaterThan(7);
    }
  });

  it('countTraces: filter, project scope and search agree with a hand-written count', async () => {
    await seed();
    const filter = { from: new Date('2026-11-02T00:00:00Z'), to: TO, environments: ['production'], minTokens: 500, status: 'OK' as const };
    const [w] = await raw(sql<{ n: number }>`
      SELECT count(*)::int AS n FROM traces
       WHERE org_id = 'org_a' AND project_id = 'org_a_p0' AND ts >= ${filter.from} AND ts < ${TO}
         AND environment = 'production' AND total_tokens >= 500 AND status_code < 400`);
    expect(await countTraces(t.db.readDb, scope('org_a', ['org_a_p0']), filter)).toBe(w!.n);
    // Search matches values: "answer 1" is in the output of rows 1, 10..19, 100..199 (and only those).
    const [s] = await raw(sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = 'org_b' AND output LIKE '%answer 1%'`);
    expect(await countTraces(t.db.readDb, scope('org_b'), {}, ['answer 1'])).toBe(s!.n);
  });

  it('findTracesByIds and findRootSpanOfTrace never cross the org boundary', async () => {
    const rows = await seed();
    const mine = rows.filter((r) => r.org_id === 'org_a').slice(0, 3).map((r) => r.id);
    const theirs = rows.filter((r) => r.org_id === 'org_b').slice(0, 3).map((r) => r.id);
    const got = await findTracesByIds(t.db.readDb, scope('org_a'), [...mine, ...theirs]);
    expect(got.map((r) => r.id).sort()).toEqual([...mine].sort());
    const root = rows[0]!;
    const other = root.org_id === 'org_a' ? 'org_b' : 'org_a';
    expect((await findRootSpanOfTrace(t.db.readDb, scope(root.org_id), root.trace_id))?.id).toBe(root.id);
    expect(await findRootSpanOfTrace(t.db.readDb, scope(other), root.trace_id)).toBeNull();
  });
});

describe('sessions repository', () => {
  it('findSessions: most recently active first, keyset pages, sums per org', async () => {
    await seed();
    const want = await raw(sql<{ session_id: string; n: number; last: Date }>`
      SELECT session_id, count(*)::int AS n, max(ts) AS last FROM traces
       WHERE org_id = 'org_b' AND session_id IS NOT NULL GROUP BY session_id ORDER BY max(ts) DESC, session_id DESC`);
    const got: { id: string; n: number }[] = [];
    let after: { ts: string; id: string } | null = null;
    for (;;) {
      const page = await findSessions(t.db.readDb, { scope: scope('org_b'), filter: {}, limit: 9, after });
      got.push(...page.map((s) => ({ id: s.session_id, n: s.trace_count })));
      if (page.length < 9) break;
      const last = page[page.length - 1]!;
      after = { ts: last.last_key, id: last.session_id };
    }
    expect(got).toEqual(want.map((w) => ({ id: w.session_id, n: w.n })));
    // The same session id in the other org is another session.
    const [a] = await findSessionsByIds(t.db.readDb, scope('org_a'), [want[0]!.session_id]);
    const [wa] = await raw(sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = 'org_a' AND session_id = ${want[0]!.session_id}`);
    expect(a?.trace_count ?? 0).toBe(wa!.n);
  });
});

describe('trace-stats repository (metrics)', () => {
  it('sumTraceStats over raw rows equals GROUP BY model, day in SQL', async () => {
    await seed();
    const rows = await sumTraceStats(t.db.readDb, {
      scope: scope('org_a'),
      filter: {},
      piece: { source: 'traces', from: FROM, to: TO },
      interval: 'DAY',
      dims: ['MODEL'],
    });
    const want = await raw(sql<{ t: Date; model: string; n: number; errors: number; tokens: number; cost: string }>`
      SELECT date_trunc('day', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t, model, count(*)::int AS n,
             count(*) FILTER (WHERE status_code >= 400)::int AS errors, sum(total_tokens)::int AS tokens, sum(total_cost_usd)::text AS cost
        FROM traces WHERE org_id = 'org_a' AND ts >= ${FROM} AND ts < ${TO} GROUP BY 1, 2 ORDER BY 1, 2`);
    const key = (x: { t: Date | null; m: string | null }) => `${new Date(x.t!).toISOString()}|${x.m}`;
    const got = rows.map((r) => ({ k: key({ t: r.t, m: r.d0 }), v: [r.n, r.errors, r.total_tokens, Number(r.total_cost)] })).sort((x, y) => x.k.localeCompare(y.k));
    expect(got).toEqual(want.map((w) => ({ k: key({ t: w.t, m: w.model }), v: [w.n, w.errors, w.tokens, Number(w.cost)] })).sort((x, y) => x.k.localeCompare(y.k)));
  });

  it('findExactLatencyPercentiles equals percentile_disc per provider', async () => {
    await seed();
    const rows = await findExactLatencyPercentiles(t.db.readDb, {
      scope: scope('org_b', ['org_b_p1']),
      filter: {},
      from: FROM,
      to: TO,
      interval: null,
      dims: ['PROVIDER'],
      levels: { total: false, group: true, series: false, groupSeries: false },
    });
    const want = await raw(sql<{ provider: string; p: number[] }>`
      SELECT provider, percentile_disc(ARRAY[0.5, 0.9, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY duration_ms) AS p
        FROM traces WHERE org_id = 'org_b' AND project_id = 'org_b_p1' AND ts >= ${FROM} AND ts < ${TO} GROUP BY provider`);
    // Only the level asked: no total row.
    expect(rows.every((r) => r.by_group === 0)).toBe(true);
    const groups = rows.filter((r) => r.by_group === 0);
    expect(Object.fromEntries(groups.map((g) => [g.d0, g.p.map(Number).map(round)]))).toEqual(Object.fromEntries(want.map((w) => [w.provider, w.p.map(Number).map(round)])));
  });
});

describe('score repositories (quality)', () => {
  async function seedScores() {
    const rows = await seed(120);
    let i = 0;
    for (const r of rows.slice(0, 60)) {
      i++;
      await t.db.db
        .insertInto('scores')
        .values({ trace_id: r.id, ts: r.ts, trace_ts: r.ts, org_id: r.org_id, project_id: r.project_id, name: i % 2 ? 'helpful' : 'correct', value: (i % 7) / 6, label: i % 3 ? 'good' : 'bad', source: i % 4 ? 'human' : 'llm', comment: null })
        .execute();
    }
  }

  it('findScoresByTraceIds, sumScoresByName, labels and scored traces agree with SQL per org', async () => {
    await seedScores();
    for (const org of ORGS) {
      const filter = { from: FROM, to: TO };
      const sums = await sumScoresByName(t.db.readDb, { scope: scope(org), filter, names: null, dims: ['MODEL'], interval: null });
      const want = await raw(sql<{ name: string; model: string; n: number; mean: number }>`
        SELECT s.name, t.model, count(*)::int AS n, avg(s.value) AS mean FROM scores s JOIN traces t ON t.id = s.trace_id
         WHERE s.org_id = ${org} AND t.org_id = ${org} GROUP BY 1, 2`);
      const fmt = (name: string, m: string | null, n: number, mean: number) => `${name}|${m}|${n}|${round(mean)}`;
      expect(sums.map((s) => fmt(s.name, s.d0, s.n, s.value_sum / s.value_n)).sort()).toEqual(want.map((w) => fmt(w.name, w.model, w.n, Number(w.mean))).sort());

      const labels = await countScoreLabels(t.db.readDb, { scope: scope(org), filter, names: ['helpful'] });
      const wl = await raw(sql<{ label: string; n: number }>`SELECT label, count(*)::int AS n FROM scores WHERE org_id = ${org} AND name = 'helpful' GROUP BY 1`);
      expect(labels.map((l) => `${l.label}:${l.n}`).sort()).toEqual(wl.map((l) => `${l.label}:${l.n}`).sort());

      const scored = await countScoredTraces(t.db.readDb, { scope: scope(org), filter });
      const [ws] = await raw(sql<{ scored: number; human: number }>`
        SELECT count(DISTINCT trace_id)::int AS scored, count(DISTINCT trace_id) FILTER (WHERE source = 'human')::int AS human FROM scores WHERE org_id = ${org}`);
      expect(scored).toEqual(ws);

      const ids = (await raw(sql<{ trace_id: string }>`SELECT trace_id FROM scores ORDER BY trace_id LIMIT 20`)).map((r) => r.trace_id);
      const byIds = await findScoresByTraceIds(t.db.readDb, scope(org), ids);
      const wi = await raw(sql<{ id: string }>`SELECT id FROM scores WHERE org_id = ${org} AND trace_id = ANY(${ids}::uuid[]) ORDER BY ts, id`);
      expect(byIds.map((s) => s.id)).toEqual(wi.map((w) => w.id));
    }
  });
});
