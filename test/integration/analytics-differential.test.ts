import { sql } from 'kysely';
import { gql } from '../support/gateway';
import { roundDeep, startAnalyticsFixture, type AnalyticsFixture } from '../support/analytics-fixture';
import { HIST_RELATIVE_ERROR } from '../../src/modules/metrics/latency-histogram';

const HOUR = 3_600_000;
const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const END = new Date(Math.floor(NOW.getTime() / HOUR) * HOUR - HOUR);
const iso = (ms: number) => new Date(ms).toISOString();
const DAY0 = Math.floor(END.getTime() / 86_400_000) * 86_400_000;

/** The same GraphQL questions to both storage modes; each uses absolute ranges. */
const QUERIES: Record<string, string> = {
  perfWeekByModel: `{ performance(range: {from: "${iso(END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: DAY) {
      interval plan { percentiles sources { source from to } }
      totals { requestCount errorCount errorRate latency { avgMs p50Ms p90Ms p95Ms p99Ms minMs maxMs } ttftAvgMs tokensPerSecond totalTokens }
      groups { key { model } stats { requestCount errorCount latency { avgMs p95Ms } } series { timestamp stats { requestCount } } }
      series { timestamp stats { requestCount errorCount latency { p50Ms } } } } }`,
  perfWeekGroupP95Only: `{ performance(range: {from: "${iso(END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: DAY) {
      totals { requestCount } groups { key { model } stats { latency { p95Ms } } } series { timestamp stats { requestCount } } } }`,
  // A 5-minute series over 30 hours: totals' and groups' percentiles come from the coarsest
  // rollups (no series point asks for one); with a series percentile, from the minute rollups.
  perfFiveMinCoarseCells: `{ performance(range: {from: "${iso(END.getTime() - 30 * HOUR - 7 * 60_000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: FIVE_MINUTES) {
      plan { percentiles } totals { requestCount latency { p50Ms p95Ms p99Ms } } groups { key { model } stats { requestCount latency { p95Ms } } } series { timestamp stats { requestCount } } } }`,
  perfFiveMinSeriesCells: `{ performance(range: {from: "${iso(END.getTime() - 30 * HOUR - 7 * 60_000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: FIVE_MINUTES) {
      plan { percentiles } totals { requestCount latency { p50Ms p95Ms p99Ms } } groups { key { model } stats { requestCount latency { p95Ms } } } series { timestamp stats { requestCount latency { p50Ms } } } } }`,
  perfShortExact: `{ performance(range: {from: "${iso(END.getTime() - 3 * HOUR)}", to: "${iso(END.getTime())}"}, groupBy: [PROVIDER], interval: FIFTEEN_MINUTES) {
      plan { percentiles } totals { requestCount latency { p50Ms p95Ms p99Ms } } groups { key { provider } stats { latency { p95Ms } } } series { timestamp stats { requestCount latency { p50Ms } } } } }`,
  perfByUserRaw: `{ performance(range: {from: "${iso(END.getTime() - 2 * 86_400_000)}", to: "${iso(END.getTime())}"}, groupBy: [USER, STATUS], groupLimit: 20) {
      plan { percentiles sources { source } } groups { key { userId status } stats { requestCount latency { p95Ms } } } } }`,
  costsByProvider: `{ costs(range: {from: "${iso(DAY0 - 3 * 86_400_000)}", to: "${iso(END.getTime())}"}, groupBy: [PROVIDER], interval: HOUR) {
      totals { totalUsd promptUsd completionUsd requestCount costPerRequestUsd costPer1kTokensUsd cachedTokens }
      groups { key { provider } stats { totalUsd } series { timestamp stats { totalUsd } } }
      topSpenders(by: USER, limit: 5) { key { userId } stats { totalUsd requestCount } }
      previousPeriod { totalUsd requestCount } } }`,
  quality: `{ quality(range: {from: "${iso(END.getTime() - 7 * 86_400_000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: DAY) {
      traceCount tracesWithScores feedbackShare plan { percentiles sources { source from to } }
      scores { name count mean min max bins { lower upper count } labels { label count fraction } groups { key { model } count mean } series { timestamp count mean } } } }`,
  compare: `{ compareModels(models: ["gpt-4o", "claude-sonnet-4", "no-such-model"], range: {from: "${iso(END.getTime() - 7 * 86_400_000)}", to: "${iso(END.getTime())}"}) {
      plan { percentiles } models { model provider requestCount errorRate latency { p50Ms p95Ms } ttftAvgMs totalCostUsd costPerRequestUsd costPer1kTokensUsd quality { name count mean } } } }`,
  qualityRaw: `{ quality(range: {from: "${iso(END.getTime() - 7 * 86_400_000)}", to: "${iso(END.getTime())}"}, groupBy: [USER]) {
      traceCount tracesWithScores feedbackShare plan { sources { source } }
      scores { name count mean bins { lower upper count } labels { label count } groups { key { userId } count mean } } } }`,
  costsByUser: `{ costs(range: {from: "${iso(DAY0 - 5 * 86_400_000 - 7 * HOUR - 60_000)}", to: "${iso(END.getTime())}"}, groupBy: [USER, PROJECT], groupLimit: 10, interval: DAY) {
      plan { sources { source from to } }
      totals { totalUsd requestCount } groups { key { userId projectId } stats { totalUsd requestCount } series { timestamp stats { totalUsd } } } } }`,
  perfByUserRollup: `{ performance(range: {from: "${iso(DAY0 - 6 * 86_400_000)}", to: "${iso(DAY0)}"}, groupBy: [USER], groupLimit: 8) {
      plan { percentiles sources { source } } groups { key { userId } stats { requestCount errorCount latency { avgMs p95Ms maxMs } } } } }`,
  projects: `{ projects { id stats(range: {from: "${iso(END.getTime() - 7 * 86_400_000)}", to: "${iso(END.getTime())}"}) { requestCount errorCount totalCostUsd avgLatencyMs p95LatencyMs } } }`,
};

describe('analytics: embedded TimescaleDB and plain PostgreSQL give the same answers', () => {
  let emb: AnalyticsFixture;
  let pg: AnalyticsFixture;
  const answers: Record<string, Record<string, any>> = { embedded: {}, postgres: {} };

  beforeAll(async () => {
    emb = await startAnalyticsFixture('embedded', { endAt: END, now: NOW });
    pg = await startAnalyticsFixture('postgres', { endAt: END, now: NOW });
    for (const [mode, f] of [['embedded', emb], ['postgres', pg]] as const) {
      for (const [name, q] of Object.entries(QUERIES)) {
        const r = await gql(f.gw.url, f.keys[`${f.orgs[0]}:ADMIN`]!, q);
        expect(r.body.errors).toBeUndefined();
        answers[mode]![name] = r.body.data;
      }
    }
  }, 600_000);
  afterAll(async () => {
    await emb?.stop();
    await pg?.stop();
  });

  it.each(Object.keys(QUERIES))('%s is identical in both modes', (name) => {
    expect(roundDeep(answers.embedded![name])).toEqual(roundDeep(answers.postgres![name]));
  });

  it('uses rollups and histograms for long ranges, raw rows and exact percentiles for short ones', () => {
    const week = answers.postgres!.perfWeekByModel.performance;
    expect(week.plan.percentiles).toBe('HISTOGRAM');
    expect(week.plan.sources.map((s: any) => s.source)).toContain('traces_1day');
    expect(answers.postgres!.perfShortExact.performance.plan.percentiles).toBe('EXACT');
    expect(answers.postgres!.perfByUserRaw.performance.plan.sources.map((s: any) => s.source)).toEqual(['traces']);
  });

  it('reading histograms only for the levels whose percentiles are selected gives the same percentiles', () => {
    for (const mode of ['embedded', 'postgres'] as const) {
      const all = answers[mode]!.perfWeekByModel.performance.groups;
      const only = answers[mode]!.perfWeekGroupP95Only.performance.groups;
      expect(only.map((g: any) => [g.key.model, g.stats.latency.p95Ms])).toEqual(all.map((g: any) => [g.key.model, g.stats.latency.p95Ms]));
    }
  });

  it('percentiles planned over coarser rollups than the series interval equal those read at the series interval', async () => {
    for (const mode of ['embedded', 'postgres'] as const) {
      const coarse = answers[mode]!.perfFiveMinCoarseCells.performance;
      const fine = answers[mode]!.perfFiveMinSeriesCells.performance;
      expect(coarse.plan.percentiles).toBe('HISTOGRAM');
      expect(coarse.totals).toEqual(fine.totals);
      expect(coarse.groups).toEqual(fine.groups);
      expect(coarse.series).toEqual(fine.series.map((p: any) => ({ timestamp: p.timestamp, stats: { requestCount: p.stats.requestCount } })));
    }
    // Which tables the histogram cells were read from: hours (and minute edges) vs minutes only.
    const cellSources = async (q: string) => {
      const seen: string[] = [];
      const off = pg.gw.services.database.addQueryListener((e) => {
        const m = /countLatencyCells:(\w+)/.exec(e.query.sql);
        if (m) seen.push(m[1]!);
      });
      try {
        expect((await gql(pg.gw.url, pg.keys[`${pg.orgs[0]}:ADMIN`]!, q)).body.errors).toBeUndefined();
      } finally {
        off();
      }
      return [...new Set(seen)].sort();
    };
    // (A minute earlier than the cached answers above, so the statements run again.)
    const earlier = (q: string) => q.replace(iso(END.getTime() - 30 * HOUR - 7 * 60_000), iso(END.getTime() - 30 * HOUR - 8 * 60_000));
    expect(await cellSources(earlier(QUERIES.perfFiveMinCoarseCells!))).toContain('traces_1hour');
    expect(await cellSources(earlier(QUERIES.perfFiveMinSeriesCells!))).not.toContain('traces_1hour');
    const from = new Date(END.getTime() - 30 * HOUR - 7 * 60_000);
    const { rows } = await sql<any>`
      SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95, count(*)::int AS n
        FROM traces WHERE org_id = ${pg.orgs[0]!} AND ts >= ${from} AND ts < ${END}`.execute(pg.gw.services.database.db);
    const got = answers.postgres!.perfFiveMinCoarseCells.performance.totals;
    expect(got.requestCount).toBe(rows[0].n);
    expect(Math.abs(got.latency.p95Ms - rows[0].p95) / rows[0].p95).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
  });

  it('quality, USER groupings and topSpenders read the score and per-user rollups', () => {
    for (const mode of ['embedded', 'postgres'] as const) {
      const q = answers[mode]!.quality.quality.plan.sources.map((s: any) => s.source);
      expect(q).toContain('scores_1day');
      expect(answers[mode]!.costsByUser.costs.plan.sources.map((s: any) => s.source)).toEqual(
        expect.arrayContaining(['traces_user_1day', 'traces_user_1hour']),
      );
      // Whole days: the daily per-user rollup (the last day from hours until its bucket is refreshed).
      const perUser = answers[mode]!.perfByUserRollup.performance.plan.sources.map((s: any) => s.source);
      expect(perUser).toContain('traces_user_1day');
      expect(perUser.every((x: string) => x === 'traces_user_1day' || x === 'traces_user_1hour')).toBe(true);
      // USER is not a score dimension: the raw join answers.
      expect(answers[mode]!.qualityRaw.quality.plan.sources.map((s: any) => s.source)).toEqual(['traces']);
    }
  });

  describe('against independent SQL on the raw rows', () => {
    const org = () => pg.orgs[0]!;
    const db = () => pg.gw.services.database.db;
    const weekRange = () => {
      const from = END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000;
      return { from: new Date(from), to: END };
    };

    it('performance totals, per-model latency and percentiles', async () => {
      const { from, to } = weekRange();
      const { rows } = await sql<any>`
        SELECT count(*)::int AS n, count(*) FILTER (WHERE status_code >= 400)::int AS errors, avg(duration_ms) AS avg,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
               percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
               percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99,
               max(duration_ms) AS max, avg(ttft_ms) AS ttft
          FROM traces WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${to}`.execute(db());
      const want = rows[0];
      const got = answers.postgres!.perfWeekByModel.performance.totals;
      expect(got.requestCount).toBe(want.n);
      expect(got.errorCount).toBe(want.errors);
      expect(got.latency.avgMs).toBeCloseTo(want.avg, 6);
      expect(got.latency.maxMs).toBe(want.max);
      expect(got.ttftAvgMs).toBeCloseTo(want.ttft, 6);
      for (const p of ['p50', 'p95', 'p99'] as const) {
        expect(Math.abs(got.latency[`${p}Ms`] - want[p]) / want[p]).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
      }
      const perModel = await sql<any>`
        SELECT model, count(*)::int AS n, percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
          FROM traces WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${to} GROUP BY model`.execute(db());
      const groups = answers.postgres!.perfWeekByModel.performance.groups;
      expect(groups).toHaveLength(perModel.rows.length);
      for (const m of perModel.rows) {
        const g = groups.find((x: any) => x.key.model === m.model);
        expect(g.stats.requestCount).toBe(m.n);
        expect(Math.abs(g.stats.latency.p95Ms - m.p95) / m.p95).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
        expect(g.series.reduce((a: number, s: any) => a + s.stats.requestCount, 0)).toBe(m.n);
      }
    });

    it('exact percentiles equal percentile_disc on short ranges', async () => {
      const { rows } = await sql<any>`
        SELECT count(*)::int AS n, percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
               percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
          FROM traces WHERE org_id = ${org()} AND ts >= ${new Date(END.getTime() - 3 * HOUR)} AND ts < ${END}`.execute(db());
      const got = answers.postgres!.perfShortExact.performance.totals;
      expect(got.requestCount).toBe(rows[0].n);
      expect(got.latency.p50Ms).toBe(rows[0].p50);
      expect(got.latency.p99Ms).toBe(rows[0].p99);
    });

    it('costs per provider, the series sums and the top spenders', async () => {
      const from = new Date(DAY0 - 3 * 86_400_000);
      const { rows } = await sql<any>`
        SELECT provider, sum(total_cost_usd)::float8 AS cost FROM traces
         WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${END} GROUP BY provider`.execute(db());
      const c = answers.postgres!.costsByProvider.costs;
      for (const r of rows) {
        const g = c.groups.find((x: any) => x.key.provider === r.provider);
        expect(g.stats.totalUsd).toBeCloseTo(r.cost, 6);
        expect(g.series.reduce((a: number, s: any) => a + s.stats.totalUsd, 0)).toBeCloseTo(r.cost, 6);
      }
      const top = await sql<any>`
        SELECT user_id, sum(total_cost_usd)::float8 AS cost FROM traces
         WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${END} GROUP BY user_id ORDER BY cost DESC LIMIT 5`.execute(db());
      expect(c.topSpenders.map((s: any) => s.key.userId)).toEqual(top.rows.map((r: any) => r.user_id));
      const prev = await sql<any>`
        SELECT coalesce(sum(total_cost_usd), 0)::float8 AS cost FROM traces
         WHERE org_id = ${org()} AND ts >= ${new Date(from.getTime() - (END.getTime() - from.getTime()))} AND ts < ${from}`.execute(db());
      expect(c.previousPeriod.totalUsd).toBeCloseTo(prev.rows[0].cost, 6);
    });

    it('quality means and feedback share', async () => {
      const from = new Date(END.getTime() - 7 * 86_400_000);
      const { rows } = await sql<any>`
        SELECT s.name, count(*)::int AS n, avg(s.value) AS mean FROM scores s JOIN traces t ON t.id = s.trace_id
         WHERE t.org_id = ${org()} AND t.ts >= ${from} AND t.ts < ${END} GROUP BY s.name ORDER BY s.name`.execute(db());
      const q = answers.postgres!.quality.quality;
      expect(q.scores.map((s: any) => s.name)).toEqual(rows.map((r: any) => r.name));
      for (const r of rows) {
        const s = q.scores.find((x: any) => x.name === r.name);
        expect(s.count).toBe(r.n);
        if (r.mean !== null) expect(s.mean).toBeCloseTo(r.mean, 9);
      }
      const fb = await sql<any>`
        SELECT count(DISTINCT s.trace_id)::float8 / (SELECT count(*) FROM traces WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${END}) AS share
          FROM scores s JOIN traces t ON t.id = s.trace_id
         WHERE t.org_id = ${org()} AND t.ts >= ${from} AND t.ts < ${END} AND s.source = 'human'`.execute(db());
      expect(q.feedbackShare).toBeCloseTo(fb.rows[0].share, 9);
      const scored = await sql<any>`
        SELECT count(DISTINCT s.trace_id)::int AS n FROM scores s JOIN traces t ON t.id = s.trace_id
         WHERE t.org_id = ${org()} AND t.ts >= ${from} AND t.ts < ${END}`.execute(db());
      expect(q.tracesWithScores).toBe(scored.rows[0].n);
    });

    it('quality bins and labels from the rollups equal the raw rows', async () => {
      const from = new Date(END.getTime() - 7 * 86_400_000);
      const q = answers.postgres!.quality.quality;
      const bins = await sql<any>`
        WITH v AS (SELECT s.name, s.value FROM scores s JOIN traces t ON t.id = s.trace_id
                    WHERE t.org_id = ${org()} AND t.ts >= ${from} AND t.ts < ${END} AND s.value IS NOT NULL),
             r AS (SELECT name, min(value) AS lo, max(value) AS hi FROM v GROUP BY name)
        SELECT v.name, least(width_bucket(v.value, r.lo, CASE WHEN r.hi > r.lo THEN r.hi ELSE r.lo + 1 END, 10), 10) AS bin, count(*)::int AS n
          FROM v JOIN r USING (name) GROUP BY 1, 2`.execute(db());
      for (const b of bins.rows) {
        expect(q.scores.find((x: any) => x.name === b.name).bins[b.bin - 1].count).toBe(b.n);
      }
      expect(q.scores.reduce((a: number, s: any) => a + s.bins.reduce((x: number, b: any) => x + b.count, 0), 0)).toBe(
        bins.rows.reduce((a: number, b: any) => a + b.n, 0),
      );
      const labels = await sql<any>`
        SELECT s.name, s.label, count(*)::int AS n FROM scores s JOIN traces t ON t.id = s.trace_id
         WHERE t.org_id = ${org()} AND t.ts >= ${from} AND t.ts < ${END} AND s.label IS NOT NULL GROUP BY 1, 2`.execute(db());
      expect(labels.rows.length).toBeGreaterThan(0);
      for (const l of labels.rows) {
        expect(q.scores.find((x: any) => x.name === l.name).labels.find((x: any) => x.label === l.label).count).toBe(l.n);
      }
    });

    it('per-user costs and latency from the per-user rollups equal the raw rows', async () => {
      const from = new Date(DAY0 - 5 * 86_400_000 - 7 * HOUR - 60_000);
      const { rows } = await sql<any>`
        SELECT user_id, project_id, sum(total_cost_usd)::float8 AS cost, count(*)::int AS n FROM traces
         WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${END} GROUP BY 1, 2 ORDER BY cost DESC LIMIT 10`.execute(db());
      const c = answers.postgres!.costsByUser.costs;
      expect(c.groups.map((g: any) => [g.key.userId, g.key.projectId])).toEqual(rows.map((r: any) => [r.user_id, r.project_id]));
      for (const [i, r] of rows.entries()) {
        expect(c.groups[i].stats.totalUsd).toBeCloseTo(r.cost, 6);
        expect(c.groups[i].stats.requestCount).toBe(r.n);
      }
      const perf = await sql<any>`
        SELECT user_id, count(*)::int AS n, max(duration_ms) AS max, percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95 FROM traces
         WHERE org_id = ${org()} AND ts >= ${new Date(DAY0 - 6 * 86_400_000)} AND ts < ${new Date(DAY0)} GROUP BY 1 ORDER BY n DESC, user_id LIMIT 5`.execute(db());
      const g = answers.postgres!.perfByUserRollup.performance.groups;
      for (const r of perf.rows) {
        const x = g.find((y: any) => y.key.userId === r.user_id);
        expect(x.stats.requestCount).toBe(r.n);
        expect(x.stats.latency.maxMs).toBe(r.max);
        expect(Math.abs(x.stats.latency.p95Ms - r.p95) / r.p95).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
      }
    });

    it('compareModels keeps the asked order and zero-fills models without traffic', () => {
      const m = answers.postgres!.compare.compareModels.models;
      expect(m.map((x: any) => x.model)).toEqual(['gpt-4o', 'claude-sonnet-4', 'no-such-model']);
      expect(m[2]).toMatchObject({ requestCount: 0, errorRate: 0, totalCostUsd: 0, costPerRequestUsd: null });
    });
  });

  /** Runs a query as the first org's admin on plain PostgreSQL and records every SQL statement. */
  async function runRecordingSql(query: string): Promise<{ body: any; statements: string[] }> {
    const statements: string[] = [];
    const off = pg.gw.services.database.addQueryListener((e) => statements.push(e.query.sql));
    try {
      const r = await gql(pg.gw.url, pg.keys[`${pg.orgs[0]}:ADMIN`]!, query);
      expect(r.body.errors).toBeUndefined();
      return { body: r.body, statements };
    } finally {
      off();
    }
  }

  it('a long range aligned to days never reads the raw table', async () => {
    const { statements } = await runRecordingSql(
      `{ performance(range: {from: "${iso(DAY0 - 8 * 86_400_000)}", to: "${iso(DAY0 - 86_400_000)}"}, groupBy: [MODEL], interval: DAY) { totals { requestCount latency { p95Ms } } } }`,
    );
    const analytic = statements.filter((s) => /sumTraceStats|countLatencyCells|findExact/.test(s));
    expect(analytic.length).toBeGreaterThan(0);
    expect(analytic.every((s) => /traces_1day/.test(s))).toBe(true);
    expect(statements.some((s) => /FROM traces\b/i.test(s))).toBe(false);
  });

  it('a page of 100 traces with project, scores and session costs a constant number of statements', async () => {
    const count = async (first: number) => {
      const { body, statements } = await runRecordingSql(
        `{ traces(first: ${first}) { nodes { id project { name } scores { name value } session { id traceCount } related { id } } } }`,
      );
      expect(body.data.traces.nodes).toHaveLength(first);
      return statements.filter((s) => !/^(begin|commit|rollback)$/i.test(s.trim()) && !/set_config/.test(s)).length;
    };
    // Batched loaders: one statement per relation, whatever the page size (one per row would be 100+ here).
    // Not `large === small`: whether the first 10 traces have a session at all depends on the seeded clock,
    // and a relation with no keys issues no statement.
    const small = await count(10);
    const large = await count(100);
    expect(small).toBeLessThanOrEqual(6);
    expect(large).toBeLessThanOrEqual(6);
  });
});
