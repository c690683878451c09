import { sql } from 'kysely';
import { gql } from '../support/gateway';
import { deepDifferences, startAnalyticsFixture, type AnalyticsFixture } from '../support/analytics-fixture';
import { HIST_RELATIVE_ERROR } from '../../src/query/latency-histogram';
import { usdUnits } from '../../src/shared/money';
import { refreshRollups } from '../../src/db/rollup-refresh';
import { createApiKey } from '../../src/auth/api-keys';

const HOUR = 3_600_000;
const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const END = new Date(Math.floor(NOW.getTime() / HOUR) * HOUR - HOUR);
const iso = (ms: number) => new Date(ms).toISOString();
const DAY0 = Math.floor(END.getTime() / 86_400_000) * 86_400_000;
const WEEK_FROM = END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000;
const MONTH0 = Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth(), 1);

/** The same GraphQL questions to both storage modes; each uses absolute ranges. */
const QUERIES: Record<string, string> = {
  perfWeekByModel: `{ performance(range: {from: "${iso(END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: DAY) {
      interval plan { percentiles sources { source from to } }
      totals { requestCount errorCount errorRate latency { avgMs p50Ms p90Ms p95Ms p99Ms minMs maxMs } ttftAvgMs tokensPerSecond totalTokens }
      groups { key { model } stats { requestCount errorCount latency { avgMs p95Ms } } series { timestamp stats { requestCount } } }
      series { timestamp stats { requestCount errorCount latency { p50Ms } } } } }`,
  perfWeekGroupP95Only: `{ performance(range: {from: "${iso(END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: DAY) {
      totals { requestCount } groups { key { model } stats { latency { p95Ms } } } series { timestamp stats { requestCount } } } }`,
  // Counts only: the sums of duration, ttft, tokens and cost are not read (the same week as perfWeekByModel).
  perfWeekCountsOnly: `{ performance(range: {from: "${iso(END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: DAY) {
      totals { requestCount errorCount errorRate } groups { key { model } stats { requestCount errorCount } } series { timestamp stats { requestCount errorCount } } } }`,
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
  compare: `{ compareModels(models: ["gpt-4o", "claude-sonnet-4", "priced-but-idle"], range: {from: "${iso(END.getTime() - 7 * 86_400_000)}", to: "${iso(END.getTime())}"}) {
      plan { percentiles } models { model provider requestCount errorRate latency { p50Ms p95Ms } ttftAvgMs totalCostUsd costPerRequestUsd costPer1kTokensUsd quality { name count mean } } } }`,
  qualityRaw: `{ quality(range: {from: "${iso(END.getTime() - 7 * 86_400_000)}", to: "${iso(END.getTime())}"}, groupBy: [USER]) {
      traceCount tracesWithScores feedbackShare plan { sources { source } }
      scores { name count mean bins { lower upper count } labels { label count } groups { key { userId } count mean } } } }`,
  costsByUser: `{ costs(range: {from: "${iso(DAY0 - 5 * 86_400_000 - 7 * HOUR - 60_000)}", to: "${iso(END.getTime())}"}, groupBy: [USER, PROJECT], groupLimit: 10, interval: DAY) {
      plan { sources { source from to } }
      totals { totalUsd requestCount } groups { key { userId projectId } stats { totalUsd requestCount } series { timestamp stats { totalUsd } } } } }`,
  perfByUserRollup: `{ performance(range: {from: "${iso(DAY0 - 6 * 86_400_000)}", to: "${iso(DAY0)}"}, groupBy: [USER], groupLimit: 8) {
      plan { percentiles sources { source } } groups { key { userId } stats { requestCount errorCount latency { avgMs p95Ms maxMs } } } } }`,
  // Issue 17 (groups): ordering by a stat, groupCount, the other bucket, error types.
  perfOrderedP95: `{ performance(range: {from: "${iso(WEEK_FROM)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], groupLimit: 2, groupOrder: {field: P95_LATENCY, direction: DESC}) {
      plan { percentiles } groupCount totals { requestCount errorCount totalTokens }
      groups { key { model } stats { requestCount errorCount totalTokens latency { p95Ms } } }
      other { key { model provider } stats { requestCount errorCount totalTokens latency { p95Ms minMs maxMs } } } } }`,
  perfOrderedP95All: `{ performance(range: {from: "${iso(WEEK_FROM)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], groupLimit: 100, groupOrder: {field: P95_LATENCY, direction: DESC}) {
      groupCount groups { key { model } stats { latency { p95Ms } } } other { stats { requestCount } } } }`,
  costsOtherAsc: `{ costs(range: {from: "${iso(DAY0 - 3 * 86_400_000)}", to: "${iso(END.getTime())}"}, groupBy: [USER], groupLimit: 3, groupOrder: {field: COST, direction: ASC}, interval: DAY) {
      plan { sources { source } } groupCount totals { totalUsd promptUsd completionUsd requestCount }
      groups { key { userId } stats { totalUsd requestCount } }
      other { key { userId } stats { totalUsd promptUsd completionUsd requestCount } series { timestamp stats { totalUsd } } } } }`,
  perfByErrorTypeFiltered: `{ performance(range: {from: "${iso(WEEK_FROM)}", to: "${iso(END.getTime())}"}, groupBy: [ERROR_TYPE], filter: {errorTypes: ["timeout", "rate_limit"]}, groupOrder: {field: KEY, direction: ASC}) {
      plan { rawReason sources { source } } groupCount totals { requestCount errorCount } groups { key { errorType } stats { requestCount errorCount } } other { stats { requestCount } } } }`,
  perfByErrorType: `{ performance(range: {from: "${iso(WEEK_FROM)}", to: "${iso(END.getTime())}"}, groupBy: [ERROR_TYPE], groupOrder: {field: ERRORS, direction: DESC}) {
      plan { rawReason } groupCount groups { key { errorType } stats { requestCount errorCount errorRate } } } }`,
  // Issue 17 (numbers): exact money; a month's points against monthToDate.
  costsMonth: `{ costs(range: {from: "${iso(MONTH0)}", to: "${iso(NOW.getTime())}"}, interval: DAY) {
      plan { sources { source } } totals { totalUsd promptUsd completionUsd } series { timestamp stats { totalUsd } } monthToDate { totalUsd promptUsd completionUsd } } }`,
  // The 24-hour model panel, with and without a series: without one the sums need no buckets.
  perfDayHourly: `{ performance(range: {from: "${iso(END.getTime() - 30 * HOUR - 7 * 60_000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: HOUR, groupLimit: 2) {
      interval plan { percentiles } totals { requestCount errorCount latency { avgMs p50Ms p95Ms maxMs } totalTokens ttftAvgMs }
      groups { key { model } stats { requestCount errorRate latency { p95Ms } } } other { stats { requestCount errorCount latency { p95Ms } } }
      series { timestamp stats { requestCount } } } }`,
  perfDayHourlyNoSeries: `{ performance(range: {from: "${iso(END.getTime() - 30 * HOUR - 7 * 60_000)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], interval: HOUR, groupLimit: 2) {
      interval plan { percentiles } totals { requestCount errorCount latency { avgMs p50Ms p95Ms maxMs } totalTokens ttftAvgMs }
      groups { key { model } stats { requestCount errorRate latency { p95Ms } } } other { stats { requestCount errorCount latency { p95Ms } } } } }`,
  // Cost fields only (no latency, TTFT or token sums), the same question as costsByProvider.
  costsByProviderNarrow: `{ costs(range: {from: "${iso(DAY0 - 3 * 86_400_000)}", to: "${iso(END.getTime())}"}, groupBy: [PROVIDER], interval: HOUR) {
      totals { totalUsd requestCount } groups { key { provider } stats { totalUsd } series { timestamp stats { totalUsd } } } } }`,
  compareNarrow: `{ compareModels(models: ["gpt-4o", "claude-sonnet-4", "priced-but-idle"], range: {from: "${iso(END.getTime() - 7 * 86_400_000)}", to: "${iso(END.getTime())}"}) {
      models { model requestCount errorRate latency { p95Ms } } } }`,
  // Ranked by cost without selecting a cost (PerformanceStats has none): the order still reads the cost sums.
  perfTopByCost: `{ performance(range: {from: "${iso(WEEK_FROM)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], groupLimit: 3, groupOrder: {field: COST, direction: DESC}) {
      groupCount groups { key { model } stats { requestCount } } } }`,
  costsTopByCost: `{ costs(range: {from: "${iso(WEEK_FROM)}", to: "${iso(END.getTime())}"}, groupBy: [MODEL], groupLimit: 3) {
      groupCount groups { key { model } stats { requestCount totalUsd } } } }`,
  // A series and groups by USER, with and without the groups' series: without, the sums come per point and per group.
  perfByUserSeries: `{ performance(range: {from: "${iso(DAY0 - 5 * 86_400_000 - 3 * HOUR)}", to: "${iso(END.getTime())}"}, groupBy: [USER], groupLimit: 5, interval: HOUR) {
      plan { sources { source } } groupCount totals { requestCount errorCount latency { p95Ms maxMs } }
      groups { key { userId } stats { requestCount errorCount latency { p95Ms } } } other { stats { requestCount errorCount } }
      series { timestamp stats { requestCount errorCount } } } }`,
  perfByUserSeriesFull: `{ performance(range: {from: "${iso(DAY0 - 5 * 86_400_000 - 3 * HOUR)}", to: "${iso(END.getTime())}"}, groupBy: [USER], groupLimit: 5, interval: HOUR) {
      plan { sources { source } } groupCount totals { requestCount errorCount latency { p95Ms maxMs } }
      groups { key { userId } stats { requestCount errorCount latency { p95Ms } } series { timestamp stats { requestCount } } } other { stats { requestCount errorCount } }
      series { timestamp stats { requestCount errorCount } } } }`,
  // 30 hours of 5-minute points by USER (no per-user rollup under an hour): the points from the
  // minute rollups, the users from traces_user_1hour, so histogram percentiles; with the users'
  // series selected every slice is raw rows, so exact ones.
  perfByUserFiveMin: `{ performance(range: {from: "${iso(END.getTime() - 30 * HOUR - 7 * 60_000)}", to: "${iso(END.getTime())}"}, groupBy: [USER], groupLimit: 5, interval: FIVE_MINUTES) {
      plan { percentiles sources { source } } totals { requestCount latency { p50Ms p95Ms } }
      groups { key { userId } stats { requestCount latency { p95Ms } } } series { timestamp stats { requestCount } } } }`,
  perfByUserFiveMinGroupSeries: `{ performance(range: {from: "${iso(END.getTime() - 30 * HOUR - 7 * 60_000)}", to: "${iso(END.getTime())}"}, groupBy: [USER], groupLimit: 5, interval: FIVE_MINUTES) {
      plan { percentiles sources { source } } totals { requestCount latency { p50Ms p95Ms } }
      groups { key { userId } stats { requestCount latency { p95Ms } } series { timestamp stats { requestCount } } } series { timestamp stats { requestCount } } } }`,
  // Top users by requests with their p95: histograms of the shown users only, unless `other` asks for a percentile.
  perfByUserTop: `{ performance(range: {from: "${iso(DAY0 - 6 * 86_400_000 - 2 * HOUR)}", to: "${iso(END.getTime())}"}, groupBy: [USER], groupLimit: 5) {
      groupCount totals { requestCount latency { p50Ms p95Ms } } groups { key { userId } stats { requestCount latency { p95Ms p99Ms } } } } }`,
  perfByUserTopWithOther: `{ performance(range: {from: "${iso(DAY0 - 6 * 86_400_000 - 2 * HOUR)}", to: "${iso(END.getTime())}"}, groupBy: [USER], groupLimit: 5) {
      groupCount totals { requestCount latency { p50Ms p95Ms } } groups { key { userId } stats { requestCount latency { p95Ms p99Ms } } } other { stats { requestCount latency { p95Ms } } } } }`,
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
      // A model the price table knows but nobody called: compareModels answers it with zeros.
      await sql`INSERT INTO model_prices (provider, model, prompt_usd_per_1k, completion_usd_per_1k) VALUES ('openai', 'priced-but-idle', 0.001, 0.002)`.execute(f.gw.services.database.db);
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

  /** The statements tagged `tag` a question sends to plain PostgreSQL (it must not be answered from the cache). */
  const statementsTagged = async (q: string, tag: string) => {
    const seen: string[] = [];
    const off = pg.gw.services.database.addQueryListener((e) => {
      if (e.query.sql.includes(`/* ${tag}:`)) seen.push(e.query.sql);
    });
    try {
      expect((await gql(pg.gw.url, pg.keys[`${pg.orgs[0]}:ADMIN`]!, q)).body.errors).toBeUndefined();
    } finally {
      off();
    }
    return seen;
  };
  /** The one sums statement of a question. */
  const sumsStatement = async (q: string) => {
    const seen = await statementsTagged(q, 'sumTraceStats');
    expect(seen).toHaveLength(1);
    return seen[0]!;
  };

  it.each(Object.keys(QUERIES))('%s is identical in both modes', (name) => {
    expect(deepDifferences(answers.embedded![name], answers.postgres![name])).toEqual([]);
  });

  it('uses rollups and histograms for long ranges, raw rows and exact percentiles for short ones', () => {
    const week = answers.postgres!.perfWeekByModel.performance;
    expect(week.plan.percentiles).toBe('HISTOGRAM');
    expect(week.plan.sources.map((s: any) => s.source)).toContain('traces_model_1day');
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

  it('reading only the sums the selected fields need gives the same counts, and leaves the others out of the statement', async () => {
    for (const mode of ['embedded', 'postgres'] as const) {
      const all = answers[mode]!.perfWeekByModel.performance;
      const only = answers[mode]!.perfWeekCountsOnly.performance;
      expect(only.totals).toEqual({ requestCount: all.totals.requestCount, errorCount: all.totals.errorCount, errorRate: all.totals.errorRate });
      expect(only.groups.map((g: any) => [g.key.model, g.stats.requestCount])).toEqual(all.groups.map((g: any) => [g.key.model, g.stats.requestCount]));
      expect(only.series.map((p: any) => p.stats.requestCount)).toEqual(all.series.map((p: any) => p.stats.requestCount));
    }
    // (A minute earlier than the cached answers above, so the statements run again.)
    const earlier = (q: string) => q.replace(iso(END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000), iso(END.getTime() - 7 * 86_400_000 - 18 * 60_000 - 5000));
    const narrow = await sumsStatement(earlier(QUERIES.perfWeekCountsOnly!));
    expect(narrow).toContain('sum(request_count)');
    expect(narrow).not.toMatch(/sum\((total|prompt|completion)_cost|sum\(duration|min\(duration|sum\(ttft|_tokens_sum\)/);
    // Percentiles read the duration extremes (histogram estimates are clamped to them), not the cost.
    const p95 = await sumsStatement(earlier(QUERIES.perfWeekGroupP95Only!));
    expect(p95).toContain('min(duration_min)');
    expect(p95).not.toContain('sum(total_cost_sum)');
    // quality's traffic count reads the counts only.
    const quality = await sumsStatement(QUERIES.quality!.replace(iso(END.getTime() - 7 * 86_400_000), iso(END.getTime() - 7 * 86_400_000 - 60_000)));
    expect(quality).not.toMatch(/sum\((total|prompt|completion)_cost|sum\(duration|sum\(ttft|_tokens_sum\)/);
    const full = await sumsStatement(earlier(QUERIES.perfWeekByModel!));
    expect(full).toMatch(/sum\(ttft_sum\)/);
    expect(full).toMatch(/sum\(total_tokens_sum\)/);
  });

  it('a report without a series reads its sums without the interval, and answers the same', async () => {
    for (const mode of ['embedded', 'postgres'] as const) {
      const withSeries = answers[mode]!.perfDayHourly.performance;
      const without = answers[mode]!.perfDayHourlyNoSeries.performance;
      expect(withSeries.series.length).toBeGreaterThanOrEqual(30);
      expect(without.interval).toBe('HOUR');
      const { series: _s, ...rest } = withSeries;
      // Float sums added in another order: equal to their last bits.
      expect(deepDifferences(without, rest)).toEqual([]);
      expect(without.other.stats.requestCount).toBe(without.totals.requestCount - without.groups.reduce((a: number, g: any) => a + g.stats.requestCount, 0));
      // Cost fields only: the same money and counts as the full cost question.
      const full = answers[mode]!.costsByProvider.costs;
      const narrow = answers[mode]!.costsByProviderNarrow.costs;
      expect(narrow.totals).toEqual({ totalUsd: full.totals.totalUsd, requestCount: full.totals.requestCount });
      expect(narrow.groups).toEqual(full.groups);
      const cmp = answers[mode]!.compare.compareModels.models;
      expect(answers[mode]!.compareNarrow.compareModels.models).toEqual(
        cmp.map((m: any) => ({ model: m.model, requestCount: m.requestCount, errorRate: m.errorRate, latency: { p95Ms: m.latency.p95Ms } })),
      );
      // A cost order without a cost field ranks as the cost report does.
      const byCost = answers[mode]!.costsTopByCost.costs;
      expect(answers[mode]!.perfTopByCost.performance.groups.map((g: any) => g.key.model)).toEqual(byCost.groups.map((g: any) => g.key.model));
      expect(byCost.groups.length).toBe(3);
    }
    // (A minute earlier than the cached answers above, so the statements run again.)
    const earlier = (q: string, fromMs: number) => q.replace(iso(fromMs), iso(fromMs - 60_000));
    const dayFrom = END.getTime() - 30 * HOUR - 7 * 60_000;
    expect(await sumsStatement(earlier(QUERIES.perfDayHourly!, dayFrom))).toContain("time_bucket(INTERVAL '1 hour'");
    const noSeries = await sumsStatement(earlier(QUERIES.perfDayHourlyNoSeries!, dayFrom));
    expect(noSeries).not.toContain('time_bucket(');
    expect(noSeries).toContain('NULL::timestamptz AS t');
    const costs = await sumsStatement(earlier(QUERIES.costsByProviderNarrow!, DAY0 - 3 * 86_400_000));
    expect(costs).toContain('sum(total_cost_sum)');
    expect(costs).not.toMatch(/sum\(duration|min\(duration|sum\(ttft|_tokens_sum\)/);
    const compare = await sumsStatement(earlier(QUERIES.compareNarrow!, END.getTime() - 7 * 86_400_000));
    expect(compare).toContain('min(duration_min)');
    expect(compare).not.toMatch(/sum\((total|prompt|completion)_cost|sum\(ttft|_tokens_sum\)/);
    expect(await sumsStatement(earlier(QUERIES.perfTopByCost!, WEEK_FROM))).toContain('sum(total_cost_sum)');
  });

  it("a report with a series and groups but no groups' series sums per point and per group (each from its own rollups), and answers the same", async () => {
    for (const mode of ['embedded', 'postgres'] as const) {
      const split = answers[mode]!.perfByUserSeries.performance;
      const full = answers[mode]!.perfByUserSeriesFull.performance;
      expect(split.groupCount).toBeGreaterThan(5);
      const { plan: splitPlan, ...splitAnswer } = split;
      const { plan: _p, ...fullAnswer } = full;
      expect(splitAnswer).toEqual({ ...fullAnswer, groups: full.groups.map(({ series: _s, ...g }: any) => g) });
      // Points and total from the hourly by-model rollup (org-wide: no project or environment asked); users from the daily per-user rollup.
      const sources = splitPlan.sources.map((x: any) => x.source);
      expect(sources).toEqual(expect.arrayContaining(['traces_model_1hour', 'traces_user_1day']));
      expect(full.plan.sources.map((x: any) => x.source)).not.toContain('traces_model_1hour');
      expect(split.series.reduce((a: number, p: any) => a + p.stats.requestCount, 0)).toBe(split.totals.requestCount);
      expect(split.other.stats.requestCount).toBe(split.totals.requestCount - split.groups.reduce((a: number, g: any) => a + g.stats.requestCount, 0));
    }
    const from = DAY0 - 5 * 86_400_000 - 3 * HOUR;
    const earlier = (q: string) => q.replace(iso(from), iso(from - 60_000));
    expect(await sumsStatement(earlier(QUERIES.perfByUserSeries!))).toMatch(/sumTraceStats:\S*traces_model_1hour\S*traces_user_1day/);
    expect(await sumsStatement(earlier(QUERIES.perfByUserSeriesFull!))).not.toContain('GROUPING SETS');
    // By MODEL the points and the groups share their rollups: one pass, two grouping sets.
    const weekFrom = END.getTime() - 7 * 86_400_000 - 17 * 60_000 - 5000;
    expect(await sumsStatement(QUERIES.perfWeekCountsOnly!.replace(iso(weekFrom), iso(weekFrom - 2 * 60_000)))).toContain('GROUPING SETS ((1), (2, 3, 4))');
  });

  it("reads the histograms of the shown groups only when `other` asks for no percentile, with the same percentiles", async () => {
    for (const mode of ['embedded', 'postgres'] as const) {
      const top = answers[mode]!.perfByUserTop.performance;
      const { other, ...all } = answers[mode]!.perfByUserTopWithOther.performance;
      expect(top.groupCount).toBeGreaterThan(5);
      expect(top).toEqual(all);
      expect(top.groups.every((g: any) => g.stats.latency.p95Ms !== null)).toBe(true);
      expect(other.stats.latency.p95Ms).not.toBeNull();
    }
    const cellStatements = (q: string) => statementsTagged(q, 'countLatencyCells');
    const from = DAY0 - 6 * 86_400_000 - 2 * HOUR;
    const earlier = (q: string) => q.replace(iso(from), iso(from - 60_000));
    // The total's cells from the by-model rollups, the five users' from theirs, filtered to them.
    const top = await cellStatements(earlier(QUERIES.perfByUserTop!));
    expect(top).toHaveLength(2);
    expect(top.some((x) => /countLatencyCells:\S*traces_model_1day/.test(x) && !x.includes('traces_user_'))).toBe(true);
    expect(top.some((x) => x.includes('traces_user_1day') && x.includes('= ANY('))).toBe(true);
    const all = await cellStatements(earlier(QUERIES.perfByUserTopWithOther!));
    expect(all).toHaveLength(1);
    expect(all[0]).not.toContain('= ANY(');
    // Every branch of the new statements is scoped to the caller's org.
    const split = await sumsStatement(QUERIES.perfByUserSeries!.replace(iso(DAY0 - 5 * 86_400_000 - 3 * HOUR), iso(DAY0 - 5 * 86_400_000 - 3 * HOUR - 120_000)));
    for (const statement of [...top, split]) {
      const branches = statement.split('UNION ALL').filter((b) => /FROM\s+"?traces/.test(b));
      expect(branches.length).toBeGreaterThan(1);
      for (const b of branches) expect(b).toMatch(/org_id" = \$\d+|org_id = \$\d+/);
    }
    // Another org's key: its own totals and users, counted independently on the raw rows.
    const other = pg.orgs[1]!;
    const r = await gql(pg.gw.url, pg.keys[`${other}:ADMIN`]!, earlier(QUERIES.perfByUserTop!));
    expect(r.body.errors).toBeUndefined();
    const answer = r.body.data.performance;
    const { rows } = await sql<{ user_id: string | null; n: number }>`
      SELECT user_id, count(*)::int AS n FROM traces WHERE org_id = ${other} AND ts >= ${new Date(from - 60_000)} AND ts < ${END}
       GROUP BY user_id`.execute(pg.gw.services.database.db);
    const byUser = new Map(rows.map((x) => [x.user_id, x.n]));
    expect(answer.totals.requestCount).toBe(rows.reduce((a, x) => a + x.n, 0));
    for (const g of answer.groups) expect(g.stats.requestCount).toBe(byUser.get(g.key.userId));
  });

  it('compareModels and quality read their trace and score statements in one read (one round trip)', async () => {
    // A timed read's settings open it: a read batch's set_config (server modes), else BEGIN; SET LOCAL.
    const transactions = async (q: string) => {
      const seen: string[] = [];
      const off = pg.gw.services.database.addQueryListener((e) => {
        if (/^BEGIN; SET LOCAL statement_timeout|^SELECT set_config\('statement_timeout'/.test(e.query.sql)) seen.push(e.query.sql);
      });
      try {
        const r = await gql(pg.gw.url, pg.keys[`${pg.orgs[0]}:ADMIN`]!, q);
        expect(r.body.errors).toBeUndefined();
        return { n: seen.length, data: r.body.data };
      } finally {
        off();
      }
    };
    // (Two minutes earlier than the cached answers above, so the statements run again.)
    const weekFrom = END.getTime() - 7 * 86_400_000;
    const earlier = (q: string) => q.replace(iso(weekFrom), iso(weekFrom - 2 * 60_000));
    const compare = await transactions(earlier(QUERIES.compare!));
    expect(compare.n).toBe(1);
    const quality = await transactions(earlier(QUERIES.quality!));
    expect(quality.n).toBe(1);
    expect(quality.data.quality.traceCount).toBeGreaterThan(0);
    expect(compare.data.compareModels.models.find((m: any) => m.model === 'gpt-4o').quality.length).toBeGreaterThan(0);
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
        // One statement names every piece it reads: countLatencyCells:traces_model_1min+traces_model_1hour+…
        const m = /countLatencyCells:([\w+]+)/.exec(e.query.sql);
        if (m) seen.push(...m[1]!.split('+'));
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
    expect(await cellSources(earlier(QUERIES.perfFiveMinCoarseCells!))).toContain('traces_model_1hour');
    expect(await cellSources(earlier(QUERIES.perfFiveMinSeriesCells!))).not.toContain('traces_model_1hour');
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

    it('the method follows the plan: 5-minute points by USER read the per-user hours and histograms, or raw rows and percentile_disc', async () => {
      const from = new Date(END.getTime() - 30 * HOUR - 7 * 60_000);
      const stats = (by: string) => sql<any>`
        SELECT ${sql.raw(by)} AS user_id, count(*)::int AS n, percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
          FROM traces WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${END} GROUP BY 1`.execute(db());
      const all = (await stats('NULL::text')).rows[0];
      const byUser = new Map((await stats('user_id')).rows.map((r: any) => [r.user_id, r]));
      for (const mode of ['embedded', 'postgres'] as const) {
        const hist = answers[mode]!.perfByUserFiveMin.performance;
        expect(hist.plan.percentiles).toBe('HISTOGRAM');
        expect(hist.plan.sources.map((s: any) => s.source)).toEqual(expect.arrayContaining(['traces_model_1min', 'traces_user_1hour']));
        const full = answers[mode]!.perfByUserFiveMinGroupSeries.performance;
        expect(full.plan.percentiles).toBe('EXACT');
        expect(new Set(full.plan.sources.map((s: any) => s.source))).toEqual(new Set(['traces']));
        // The same users in the same order, the same counts; percentiles exact in one, within one cell in the other.
        expect(hist.groups.map((g: any) => [g.key.userId, g.stats.requestCount])).toEqual(full.groups.map((g: any) => [g.key.userId, g.stats.requestCount]));
        expect(hist.series).toEqual(full.series);
        expect(hist.totals.requestCount).toBe(all.n);
        expect(full.totals.latency.p95Ms).toBe(all.p95);
        expect(Math.abs(hist.totals.latency.p95Ms - all.p95) / all.p95).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
        expect(hist.groups.length).toBe(5);
        for (const [i, g] of hist.groups.entries()) {
          const want = byUser.get(g.key.userId)!;
          expect(g.stats.requestCount).toBe(want.n);
          expect(full.groups[i].stats.latency.p95Ms).toBe(want.p95);
          expect(Math.abs(g.stats.latency.p95Ms - want.p95) / want.p95).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
          expect(full.groups[i].series.reduce((a: number, p: any) => a + p.stats.requestCount, 0)).toBe(want.n);
        }
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
        SELECT v.name, CASE WHEN r.hi = r.lo OR v.value = r.hi THEN CASE WHEN r.hi = r.lo THEN 1 ELSE 10 END
                            ELSE 1 + floor(10 * (v.value::numeric - r.lo::numeric) / (r.hi::numeric - r.lo::numeric))::int END AS bin, count(*)::int AS n
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

    it('groups ordered by p95: the limit keeps the first of the full order; other is exactly totals minus the shown groups', async () => {
      for (const mode of ['embedded', 'postgres'] as const) {
        const r = answers[mode]!.perfOrderedP95.performance;
        const all = answers[mode]!.perfOrderedP95All.performance;
        const p95s = all.groups.map((g: any) => g.stats.latency.p95Ms);
        expect(p95s).toEqual([...p95s].sort((a: number, b: number) => b - a));
        expect(r.groups.map((g: any) => g.key.model)).toEqual(all.groups.slice(0, 2).map((g: any) => g.key.model));
        expect(all.other).toBeNull();
        expect(r.groupCount).toBe(all.groups.length);
        const shown = (k: string) => r.groups.reduce((a: number, g: any) => a + g.stats[k], 0);
        for (const k of ['requestCount', 'errorCount', 'totalTokens']) expect(r.other.stats[k]).toBe(r.totals[k] - shown(k));
        expect(r.other.key).toEqual({ model: null, provider: null });
      }
      const r = answers.postgres!.perfOrderedP95.performance;
      const { from, to } = weekRange();
      const shownModels = r.groups.map((g: any) => g.key.model);
      const { rows } = await sql<any>`
        SELECT count(DISTINCT model)::int AS models FROM traces WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${to}`.execute(db());
      expect(r.groupCount).toBe(rows[0].models);
      const rest = await sql<any>`
        SELECT count(*)::int AS n, min(duration_ms) AS min, max(duration_ms) AS max, percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95
          FROM traces WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${to} AND NOT (model = ANY(${shownModels}::text[]))`.execute(db());
      expect(r.other.stats.requestCount).toBe(rest.rows[0].n);
      expect(r.other.stats.latency.minMs).toBe(rest.rows[0].min);
      expect(r.other.stats.latency.maxMs).toBe(rest.rows[0].max);
      // Merged histograms of the groups left out: the stated bound holds for them too.
      expect(Math.abs(r.other.stats.latency.p95Ms - rest.rows[0].p95) / rest.rows[0].p95).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
    });

    it('cost groups ascending with an exact other bucket (money as the decimal sum of the rows)', async () => {
      const c = answers.postgres!.costsOtherAsc.costs;
      const costs = c.groups.map((g: any) => g.stats.totalUsd);
      expect(costs).toEqual([...costs].sort((a: number, b: number) => a - b));
      const from = new Date(DAY0 - 3 * 86_400_000);
      const users = await sql<any>`
        SELECT user_id, sum(total_cost_usd)::text AS cost FROM traces
         WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${END} GROUP BY user_id ORDER BY sum(total_cost_usd) ASC, user_id ASC NULLS LAST`.execute(db());
      expect(c.groupCount).toBe(users.rows.length);
      expect(c.groups.map((g: any) => g.key.userId)).toEqual(users.rows.slice(0, 3).map((u: any) => u.user_id));
      expect(costs).toEqual(users.rows.slice(0, 3).map((u: any) => Number(u.cost)));
      const shown = c.groups.map((g: any) => g.key.userId);
      const rest = await sql<any>`
        SELECT sum(total_cost_usd)::text AS total, sum(prompt_cost_usd)::text AS prompt, sum(completion_cost_usd)::text AS completion, count(*)::int AS n
          FROM traces WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${END} AND (user_id IS NULL OR NOT (user_id = ANY(${shown}::text[])))`.execute(db());
      expect(c.other.stats.totalUsd).toBe(Number(rest.rows[0].total));
      expect(c.other.stats.promptUsd).toBe(Number(rest.rows[0].prompt));
      expect(c.other.stats.completionUsd).toBe(Number(rest.rows[0].completion));
      expect(c.other.stats.requestCount).toBe(rest.rows[0].n);
      expect(c.other.key).toEqual({ userId: null });
      // Exact: other + shown groups = totals, to the last digit (sums in 10⁻⁸ USD units).
      const units = (x: number) => usdUnits(x); // a number, not String(x): 7.8e-7 is not decimal text
      expect(units(c.other.stats.totalUsd) + c.groups.reduce((a: bigint, g: any) => a + units(g.stats.totalUsd), 0n)).toBe(units(c.totals.totalUsd));
      expect(c.other.series.reduce((a: bigint, p: any) => a + units(p.stats.totalUsd), 0n)).toBe(units(c.other.stats.totalUsd));
      // The same exact answers from embedded TimescaleDB (its rollups are continuous aggregates).
      expect(answers.embedded!.costsOtherAsc.costs).toEqual(c);
    });

    it('error types: filter and dimension read raw rows, and the plan says why', async () => {
      const f = answers.postgres!.perfByErrorTypeFiltered.performance;
      expect(f.plan.sources.map((s: any) => s.source)).toEqual(['traces']);
      expect(f.plan.rawReason).toMatch(/filter errorTypes; groupBy ERROR_TYPE: no rollup carries it/);
      const { from, to } = weekRange();
      const { rows } = await sql<any>`
        SELECT error_type, count(*)::int AS n, count(*) FILTER (WHERE status_code >= 400)::int AS errors FROM traces
         WHERE org_id = ${org()} AND ts >= ${from} AND ts < ${to} GROUP BY 1 ORDER BY count(*) FILTER (WHERE status_code >= 400) DESC, error_type ASC NULLS LAST`.execute(db());
      const wanted = rows.filter((r: any) => r.error_type === 'rate_limit' || r.error_type === 'timeout').sort((a: any, b: any) => (a.error_type < b.error_type ? -1 : 1));
      expect(f.groups.map((g: any) => [g.key.errorType, g.stats.requestCount, g.stats.errorCount])).toEqual(wanted.map((r: any) => [r.error_type, r.n, r.errors]));
      expect(f.totals.requestCount).toBe(wanted.reduce((a: number, r: any) => a + r.n, 0));
      expect(f.other).toBeNull();
      const g = answers.postgres!.perfByErrorType.performance;
      expect(g.groups.map((x: any) => [x.key.errorType, x.stats.requestCount, x.stats.errorCount])).toEqual(rows.map((r: any) => [r.error_type, r.n, r.errors]));
      expect(g.groups.some((x: any) => x.key.errorType === null)).toBe(true);
      expect(g.plan.rawReason).toMatch(/groupBy ERROR_TYPE/);
      expect(answers.postgres!.perfWeekByModel.performance.plan.rawReason ?? null).toBeNull();
    });

    it('money is exact: totals equal the decimal sum of the rows, the day points add up to it, and equal monthToDate', async () => {
      for (const mode of ['embedded', 'postgres'] as const) {
        const c = answers[mode]!.costsMonth.costs;
        const { rows } = await sql<any>`
          SELECT coalesce(sum(total_cost_usd), 0)::text AS total, coalesce(sum(prompt_cost_usd), 0)::text AS prompt, coalesce(sum(completion_cost_usd), 0)::text AS completion
            FROM traces WHERE org_id = ${org()} AND ts >= ${new Date(MONTH0)} AND ts < ${NOW}`.execute((mode === 'postgres' ? pg : emb).gw.services.database.db);
        expect(c.totals.totalUsd).toBe(Number(rows[0].total));
        expect(c.totals.promptUsd).toBe(Number(rows[0].prompt));
        expect(c.totals.completionUsd).toBe(Number(rows[0].completion));
        // No more than the data's 8 decimals, ever (65.29380212, not 65.29380212000001).
        for (const v of [c.totals.totalUsd, c.monthToDate.totalUsd, ...c.series.map((p: any) => p.stats.totalUsd)]) {
          expect(String(v)).toMatch(/^\d+(\.\d{1,8})?$/);
        }
        const units = (x: number) => usdUnits(String(x));
        expect(c.series.reduce((a: bigint, p: any) => a + units(p.stats.totalUsd), 0n)).toBe(units(c.totals.totalUsd));
        // The seeded data ends before NOW: month to date covers the same rows.
        expect(c.monthToDate).toEqual({ totalUsd: c.totals.totalUsd, promptUsd: c.totals.promptUsd, completionUsd: c.totals.completionUsd });
      }
      const byProvider = await sql<any>`
        SELECT sum(total_cost_usd)::text AS total FROM traces WHERE org_id = ${org()} AND ts >= ${new Date(DAY0 - 3 * 86_400_000)} AND ts < ${END}`.execute(db());
      expect(answers.postgres!.costsByProvider.costs.totals.totalUsd).toBe(Number(byProvider.rows[0].total));
    });

    it('histogram p95 moves with the counts: projects and totals do not share one cell value', () => {
      for (const mode of ['embedded', 'postgres'] as const) {
        const p95s = answers[mode]!.projects.projects.map((p: any) => p.stats.p95LatencyMs);
        expect(p95s.length).toBeGreaterThan(1);
        expect(new Set(p95s).size).toBe(p95s.length);
        expect(p95s).not.toContain(answers[mode]!.perfWeekByModel.performance.totals.latency.p95Ms);
      }
    });

    it('compareModels keeps the asked order and zero-fills models without traffic', () => {
      const m = answers.postgres!.compare.compareModels.models;
      expect(m.map((x: any) => x.model)).toEqual(['gpt-4o', 'claude-sonnet-4', 'priced-but-idle']);
      expect(m[2]).toMatchObject({ provider: 'openai', requestCount: 0, errorRate: 0, totalCostUsd: 0, costPerRequestUsd: null });
    });

    it('compareModels refuses a name that is no model (typo) with a coded error, in both modes', async () => {
      for (const f of [emb, pg]) {
        const r = await gql(f.gw.url, f.keys[`${f.orgs[0]}:ADMIN`]!, `{ viewer { orgId } compareModels(models: ["gpt-4o", "gpt4o-typo"], range: {last: "7d"}) { models { model } } }`);
        expect(r.status).toBe(200);
        expect(r.body.data.viewer.orgId).toBe(f.orgs[0]);
        expect(r.body.data.compareModels).toBeNull();
        expect(r.body.errors?.[0]).toMatchObject({ path: ['compareModels'], extensions: { code: 'BAD_USER_INPUT', argument: 'models', unknownModels: ['gpt4o-typo'] } });
      }
    });
  });

  describe('quality bins from the project-level value counts', () => {
    // Nine days with uneven edges: raw scores at both ends, then hour and day rollups.
    const from = new Date(END.getTime() - 9 * 86_400_000 - 5 * HOUR - 7 * 60_000);
    const to = new Date(END.getTime() - 13 * 60_000);
    // Long enough to hold a whole week the weekly rollup has completed (it ends a day after its
    // Monday-to-Monday week: at most 8 days back), whatever the weekday of the run.
    const longFrom = new Date(END.getTime() - 24 * 86_400_000 - 5 * HOUR - 7 * 60_000);
    type Range = { from: Date; to: Date };
    const nineDays: Range = { from, to };
    const binsQuery = (filter: string, range: Range = nineDays) =>
      `{ quality(range: {from: "${range.from.toISOString()}", to: "${range.to.toISOString()}"}${filter ? `, filter: {${filter}}` : ''}) { plan { sources { source } } tracesWithScores scores { name count mean labels { label count } bins { lower upper count } } } }`;

    /** The bins of independent SQL over scores joined to their traces (`extra`: conditions on t). */
    async function rawBins(f: AnalyticsFixture, org: string, extra: { models?: string[]; projectIds?: string[] }, { from, to }: Range = nineDays) {
      const { rows } = await sql<any>`
        WITH v AS (SELECT s.name, s.value FROM scores s JOIN traces t ON t.id = s.trace_id AND t.org_id = s.org_id
                    WHERE t.org_id = ${org} AND t.ts >= ${from} AND t.ts < ${to} AND s.value IS NOT NULL
                      ${extra.models ? sql`AND t.model = ANY(${extra.models}::text[])` : sql``}
                      ${extra.projectIds ? sql`AND t.project_id = ANY(${extra.projectIds}::text[])` : sql``}),
             r AS (SELECT name, min(value) AS lo, max(value) AS hi FROM v GROUP BY name)
        SELECT v.name, r.lo, r.hi, CASE WHEN r.hi = r.lo OR v.value = r.hi THEN CASE WHEN r.hi = r.lo THEN 1 ELSE 10 END
                            ELSE 1 + floor(10 * (v.value::numeric - r.lo::numeric) / (r.hi::numeric - r.lo::numeric))::int END AS bin, count(*)::int AS n
          FROM v JOIN r USING (name) GROUP BY 1, 2, 3, 4`.execute(f.gw.services.database.db);
      const byName = new Map<string, { lo: number; hi: number; counts: number[] }>();
      for (const r of rows) {
        let e = byName.get(r.name);
        if (!e) byName.set(r.name, (e = { lo: r.lo, hi: r.hi, counts: Array(10).fill(0) }));
        e.counts[r.bin - 1] += r.n;
      }
      return byName;
    }

    /** Counts, means, label counts and scored traces of the same join (the sums the rollups keyed by project answer too). */
    async function rawSums(f: AnalyticsFixture, org: string, extra: { models?: string[]; projectIds?: string[] }, { from, to }: Range = nineDays) {
      const where = sql`t.org_id = ${org} AND t.ts >= ${from} AND t.ts < ${to}
          ${extra.models ? sql`AND t.model = ANY(${extra.models}::text[])` : sql``}
          ${extra.projectIds ? sql`AND t.project_id = ANY(${extra.projectIds}::text[])` : sql``}`;
      const db = f.gw.services.database.db;
      const names = await sql<{ name: string; n: number; mean: number | null }>`
        SELECT s.name, count(*)::int AS n, avg(s.value)::float8 AS mean FROM scores s JOIN traces t ON t.id = s.trace_id AND t.org_id = s.org_id
         WHERE ${where} GROUP BY 1`.execute(db);
      const labels = await sql<{ name: string; label: string; n: number }>`
        SELECT s.name, s.label, count(*)::int AS n FROM scores s JOIN traces t ON t.id = s.trace_id AND t.org_id = s.org_id
         WHERE ${where} AND s.label IS NOT NULL GROUP BY 1, 2`.execute(db);
      const scored = await sql<{ n: number }>`
        SELECT count(DISTINCT s.trace_id)::int AS n FROM scores s JOIN traces t ON t.id = s.trace_id AND t.org_id = s.org_id WHERE ${where}`.execute(db);
      return { names: names.rows, labels: labels.rows, scored: scored.rows[0]!.n };
    }

    /** The sums' sources of the last question expectBins asked. */
    let lastSources: string[] = [];

    /** Asks as `key`, records the bins statement (plain PostgreSQL only) and compares with rawBins. */
    async function expectBins(f: AnalyticsFixture, key: string, org: string, filter: string, extra: { models?: string[]; projectIds?: string[] }, range: Range = nineDays) {
      const seen: string[] = [];
      const off = f.gw.services.database.addQueryListener((e) => {
        if (e.query.sql.includes('/* countScoreBinsPlanned')) seen.push(e.query.sql);
      });
      let r;
      try {
        r = await gql(f.gw.url, key, binsQuery(filter, range));
      } finally {
        off();
      }
      expect(r.body.errors).toBeUndefined();
      lastSources = r.body.data.quality.plan.sources.map((x: any) => x.source);
      const want = await rawBins(f, org, extra, range);
      const got = r.body.data.quality.scores.filter((x: any) => x.bins.length > 0);
      expect(got.map((x: any) => x.name).sort()).toEqual([...want.keys()].sort());
      expect(want.size).toBeGreaterThan(0);
      for (const x of got) {
        const w = want.get(x.name)!;
        expect(x.bins.map((b: any) => b.count)).toEqual(w.counts);
        expect(x.bins[0].lower).toBeCloseTo(w.lo, 9);
        expect(x.bins[9].upper).toBeCloseTo(w.hi > w.lo ? w.hi : w.lo + 1, 9);
      }
      const sums = await rawSums(f, org, extra, range);
      expect(r.body.data.quality.tracesWithScores).toBe(sums.scored);
      const all = r.body.data.quality.scores;
      expect(all.map((x: any) => x.name).sort()).toEqual(sums.names.map((x) => x.name).sort());
      for (const w of sums.names) {
        const x = all.find((y: any) => y.name === w.name);
        expect(x.count).toBe(w.n);
        if (w.mean === null) expect(x.mean).toBeNull();
        else expect(x.mean).toBeCloseTo(w.mean, 9);
        const labels = Object.fromEntries(x.labels.map((l: any) => [l.label, l.count]));
        expect(labels).toEqual(Object.fromEntries(sums.labels.filter((l) => l.name === w.name).map((l) => [l.label, l.n])));
      }
      return seen;
    }

    /** Every slice of the statement reads one org's rows. */
    const expectOrgScoped = (statement: string) => {
      const slices = statement.match(/FROM "?(scores|\w*score_values_\w+)"?/g) ?? [];
      const scoped = statement.match(/FROM "?(scores|\w*score_values_\w+)"? WHERE org_id = \$\d+/g) ?? [];
      expect(slices.length).toBeGreaterThan(0);
      expect(scoped).toHaveLength(slices.length);
    };

    it.each(['embedded', 'postgres'] as const)('equal the raw rows in %s mode: no filter, a project filter, a model filter, a project-scoped key, another org', async (mode) => {
      const f = mode === 'embedded' ? emb : pg;
      const [org0, org1] = f.orgs as [string, string];
      const admin = f.keys[`${org0}:ADMIN`]!;
      const db = f.gw.services.database.db;
      const projects = (await db.selectFrom('projects').select('id').where('org_id', '=', org0).orderBy('id').execute()).map((p) => p.id);
      expect(projects.length).toBeGreaterThan(1);

      // No filter (the dashboard's question): the project-level counts, week or day and hour pieces and raw edges.
      const plain = await expectBins(f, admin, org0, '', {});
      // The sums and labels from the score rollups keyed by project (no provider, model or environment asked).
      expect(lastSources.some((x) => x.startsWith('project_scores_'))).toBe(true);
      if (mode === 'postgres') {
        expect(plain).toHaveLength(1);
        expect(plain[0]).toMatch(/project_score_values_1(day|week)/);
        expect(plain[0]).toContain('project_score_values_1hour');
        expect(plain[0]).not.toMatch(/FROM "score_values_1(min|hour|day)"/);
        expectOrgScoped(plain[0]!);
      }

      // A project filter is carried by the project-level counts too.
      const byProject = await expectBins(f, admin, org0, `projectIds: ["${projects[1]}"]`, { projectIds: [projects[1]!] });
      if (mode === 'postgres') {
        expect(byProject[0]).toMatch(/project_score_values_1(day|week)/);
        expectOrgScoped(byProject[0]!);
      }

      // A model filter needs the counts keyed by model.
      const byModel = await expectBins(f, admin, org0, 'models: ["gpt-4o"]', { models: ['gpt-4o'] });
      expect(lastSources.some((x) => x.startsWith('project_scores_'))).toBe(false);
      expect(lastSources.some((x) => x.startsWith('scores_'))).toBe(true);
      if (mode === 'postgres') {
        expect(byModel[0]).not.toContain('project_score_values');
        expect(byModel[0]).toMatch(/FROM "score_values_1day"/);
        expectOrgScoped(byModel[0]!);
      }

      // A key scoped to one project sees that project's scores only.
      const scoped = (await createApiKey(db, { orgId: org0, name: 'one project', role: 'VIEWER', projectIds: [projects[0]!] })).key;
      const one = await expectBins(f, scoped, org0, '', { projectIds: [projects[0]!] });
      if (mode === 'postgres') {
        expect(one[0]).toMatch(/project_score_values_1(day|week)/);
        expectOrgScoped(one[0]!);
      }

      // The other org's answer is its own rows.
      await expectBins(f, f.keys[`${org1}:ADMIN`]!, org1, '', {});
    });

    it.each(['embedded', 'postgres'] as const)('over 24 days read whole weeks in %s mode: no filter, a project-scoped key, another org', async (mode) => {
      const f = mode === 'embedded' ? emb : pg;
      const [org0, org1] = f.orgs as [string, string];
      const db = f.gw.services.database.db;
      const long: Range = { from: longFrom, to };
      const week = await sql<{ n: number }>`SELECT count(*)::int AS n FROM project_score_values_1week WHERE org_id = ${org0}`.execute(db);
      expect(week.rows[0]!.n).toBeGreaterThan(0);

      const plain = await expectBins(f, f.keys[`${org0}:ADMIN`]!, org0, '', {}, long);
      if (mode === 'postgres') {
        expect(plain).toHaveLength(1);
        expect(plain[0]).toContain('project_score_values_1week');
        expect(plain[0]).not.toMatch(/FROM "score_values_1(min|hour|day)"/);
        expectOrgScoped(plain[0]!);
      }
      const projects = (await db.selectFrom('projects').select('id').where('org_id', '=', org0).orderBy('id').execute()).map((p) => p.id);
      const scoped = (await createApiKey(db, { orgId: org0, name: 'one project, weeks', role: 'VIEWER', projectIds: [projects[1]!] })).key;
      const one = await expectBins(f, scoped, org0, '', { projectIds: [projects[1]!] }, long);
      if (mode === 'postgres') {
        expect(one[0]).toContain('project_score_values_1week');
        expectOrgScoped(one[0]!);
      }
      await expectBins(f, f.keys[`${org1}:ADMIN`]!, org1, '', {}, long);
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

  it('reads group percentiles by a model in one round trip, and waits for the sums only by USER (whose groups a page shows few of)', async () => {
    const roundTrips = (statements: string[]) => statements.filter((x) => x.includes('/* readSettings */')).length;
    const range = `range: {from: "${iso(DAY0 - 2 * 86_400_000 - 3 * HOUR - 60_000)}", to: "${iso(DAY0 - 6 * HOUR)}"}`;
    const byModel = await runRecordingSql(`{ performance(${range}, groupBy: [MODEL], interval: HOUR) { totals { latency { p95Ms } } groups { key { model } stats { latency { p95Ms } } } } }`);
    expect(byModel.statements.filter((x) => x.includes('countLatencyCells'))).toHaveLength(1);
    expect(roundTrips(byModel.statements)).toBe(1);
    const byUser = await runRecordingSql(`{ performance(${range}, groupBy: [USER], groupLimit: 3) { totals { latency { p95Ms } } groups { key { userId } stats { latency { p95Ms } } } } }`);
    expect(roundTrips(byUser.statements)).toBe(2);
    expect(byUser.statements.some((x) => x.includes('countLatencyCells') && x.includes('= ANY('))).toBe(true);
  });

  it('a long range aligned to days never reads the raw table', async () => {
    const { statements } = await runRecordingSql(
      `{ performance(range: {from: "${iso(DAY0 - 8 * 86_400_000)}", to: "${iso(DAY0 - 86_400_000)}"}, groupBy: [MODEL], interval: DAY) { totals { requestCount latency { p95Ms } } } }`,
    );
    const analytic = statements.filter((s) => /sumTraceStats|countLatencyCells|findExact/.test(s));
    expect(analytic.length).toBeGreaterThan(0);
    expect(analytic.every((s) => /traces_model_1day/.test(s))).toBe(true);
    expect(statements.filter((s) => /FROM traces\b/i.test(s))).toEqual([]);
  });

  it.each(['embedded', 'postgres'] as const)(
    'by-model rollups answer org-wide reports in %s mode; a project or environment in the filter, the grouping or the key reads the trace rollups, with the same numbers',
    async (mode) => {
      const f = mode === 'embedded' ? emb : pg;
      const org = f.orgs[0]!;
      const db = f.gw.services.database.db;
      const projects = (await db.selectFrom('projects').select('id').where('org_id', '=', org).orderBy('id').execute()).map((p) => p.id);
      const from = iso(END.getTime() - 3 * 86_400_000 - 7 * HOUR - 60_000);
      const to = iso(END.getTime() - 2 * 60_000);
      const ask = async (key: string, args: string) => {
        const r = await gql(f.gw.url, key, `{ performance(range: {from: "${from}", to: "${to}"}${args}, interval: HOUR) {
            plan { percentiles sources { source } } totals { requestCount errorCount totalTokens latency { avgMs p50Ms p95Ms maxMs } ttftAvgMs }
            series { timestamp stats { requestCount latency { p95Ms } } } groups { key { model provider projectId } stats { requestCount latency { p95Ms } } } } }`);
        expect(r.body.errors).toBeUndefined();
        const { plan, ...answer } = r.body.data.performance;
        // Each source by family: 'raw', 'traces' (traces_1min…), 'traces_model'.
        const families = new Set<string>(plan.sources.map((x: any) => (x.source === 'traces' ? 'raw' : String(x.source).replace(/_1(min|hour|day)$/, ''))));
        return { families, plan, answer };
      };
      const admin = f.keys[`${org}:ADMIN`]!;
      const orgWide = await ask(admin, ', groupBy: [MODEL, PROVIDER]');
      expect(orgWide.plan.percentiles).toBe('HISTOGRAM');
      expect(orgWide.families.has('traces_model')).toBe(true);
      expect(orgWide.families.has('traces')).toBe(false);
      // Every project named: the same rows, read from the trace rollups (they carry the project).
      const allProjects = await ask(admin, `, groupBy: [MODEL, PROVIDER], filter: {projectIds: ${JSON.stringify(projects)}}`);
      expect(allProjects.families.has('traces')).toBe(true);
      expect(allProjects.families.has('traces_model')).toBe(false);
      // (Counts exact; float sums such as durations within 1e-9: added in another order.)
      expect(deepDifferences(allProjects.answer, orgWide.answer)).toEqual([]);
      // A key scoped to every project of the org: the same rows again, never the by-model rollups.
      const scopedKey = (await createApiKey(db, { orgId: org, name: `all projects ${mode}`, role: 'VIEWER', projectIds: projects })).key;
      const scoped = await ask(scopedKey, ', groupBy: [MODEL, PROVIDER]');
      expect(scoped.families.has('traces_model')).toBe(false);
      expect(deepDifferences(scoped.answer, orgWide.answer)).toEqual([]);
      // Grouped by project: the groups from the trace rollups, the points and total (no project
      // in them) from the by-model ones; the same total.
      const byProject = await ask(admin, ', groupBy: [PROJECT]');
      expect(byProject.families.has('traces')).toBe(true);
      expect(deepDifferences(byProject.answer.totals, orgWide.answer.totals)).toEqual([]);
      expect(byProject.answer.groups.reduce((a: number, g: any) => a + g.stats.requestCount, 0)).toBe(orgWide.answer.totals.requestCount);
      // An environment filter: trace rollups, counted independently on the raw rows.
      const env = await ask(admin, ', filter: {environments: ["production"]}');
      expect(env.families.has('traces_model')).toBe(false);
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = ${org} AND environment = 'production' AND ts >= ${new Date(from)} AND ts < ${new Date(to)}`.execute(db);
      expect(env.answer.totals.requestCount).toBe(rows[0]!.n);
      // A model filter (and no grouping) stays on the by-model rollups; another org sees its own rows only.
      const oneModel = await ask(admin, ', filter: {models: ["gpt-4o"]}');
      expect([...oneModel.families].filter((x) => x !== 'raw')).toEqual(['traces_model']);
      expect(oneModel.answer.totals.requestCount).toBe(orgWide.answer.groups.filter((g: any) => g.key.model === 'gpt-4o').reduce((a: number, g: any) => a + g.stats.requestCount, 0));
      const other = await ask(f.keys[`${f.orgs[1]}:ADMIN`]!, ', groupBy: [MODEL, PROVIDER]');
      const theirs = await sql<{ n: number }>`SELECT count(*)::int AS n FROM traces WHERE org_id = ${f.orgs[1]!} AND ts >= ${new Date(from)} AND ts < ${new Date(to)}`.execute(db);
      expect(other.answer.totals.requestCount).toBe(theirs.rows[0]!.n);
    },
  );

  it('a page of 100 traces with project, scores and session costs a constant number of statements', async () => {
    const count = async (first: number) => {
      const { body, statements } = await runRecordingSql(
        `{ traces(first: ${first}) { nodes { id project { name } scores { name value } session { id traceCount } related { id } } } }`,
      );
      expect(body.data.traces.nodes).toHaveLength(first);
      return statements.filter((s) => !/^(begin|commit|rollback)$/i.test(s.trim()) && !/^BEGIN; SET LOCAL statement_timeout|^SELECT set_config\('statement_timeout'/.test(s)).length;
    };
    // Batched loaders: one statement per relation, whatever the page size (one per row would be 100+ here).
    // Not `large === small`: whether the first 10 traces have a session at all depends on the seeded clock,
    // and a relation with no keys issues no statement.
    const small = await count(10);
    const large = await count(100);
    expect(small).toBeLessThanOrEqual(6);
    expect(large).toBeLessThanOrEqual(6);
  });

  it('puts a score on a bin edge in the same bin in both modes (numeric, not float8 width_bucket)', async () => {
    // 0.831 lies exactly on the edge of bins 2 and 3 over 0.662..1.507; PostgreSQL 15's float8
    // width_bucket says 2, the embedded build's says 3. Both modes must say 3. (Last: it adds scores
    // to the second org and refreshes the rollups.)
    for (const f of [emb, pg]) {
      const org = f.orgs[1]!;
      const { rows: t } = await sql<{ id: string; ts: Date; project_id: string }>`SELECT id, ts, project_id FROM traces WHERE org_id = ${org} ORDER BY ts DESC LIMIT 1`.execute(f.gw.services.database.db);
      const ts = t[0]!.ts;
      for (const [i, v] of [0.662, 0.831, 0.831, 1.507].entries()) {
        await sql`INSERT INTO scores (id, org_id, project_id, trace_id, trace_ts, name, value, source, ts)
                  VALUES (gen_random_uuid(), ${org}, ${t[0]!.project_id}, ${t[0]!.id}, ${ts}, 'edge-case', ${v}, 'heuristic', ${new Date(ts.getTime() + i)})`.execute(f.gw.services.database.db);
      }
      // The range may be answered from the score rollups: bring them up to date.
      await refreshRollups(f.gw.services.database, NOW);
      const from = new Date(ts.getTime() - 60_000).toISOString();
      const to = new Date(ts.getTime() + 60_000).toISOString();
      const r = await gql(f.gw.url, f.keys[`${org}:ADMIN`]!, `{ quality(range: {from: "${from}", to: "${to}"}, names: ["edge-case"]) { scores { name bins { count } } } }`);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.quality.scores[0].bins.map((b: any) => b.count)).toEqual([1, 0, 2, 0, 0, 0, 0, 0, 0, 1]);
    }
  });
});
