import { usdNumber } from '../../shared/money';
import { sql } from 'kysely';
import type { RequestContext } from '../../context';
import { withTimedRead } from '../../db/database';
import { badInput } from '../../shared/errors';
import { planScores, sumScores } from '../../query/score-plan';
import type { TraceFilterInput } from '../../query/trace-filter-input';
import { resolveReportArgs } from '../../query/report-args';
import type { StatsColumns } from '../../query/trace-stats.repository';
import { computeTraceStatsWith, emptyAcc, type StatsAcc, type TraceStatsResult } from '../../query/trace-stats';
import { costPer1kTokensUsd, costPerRequestUsd, errorRate, tokensPerSecond, ttftAvgMs } from '../../query/derived-stats';

export interface ModelComparisonRow {
  model: string;
  provider: string | null;
  requestCount: number;
  errorRate: number;
  latency: StatsAcc;
  ttftAvgMs: number | null;
  tokensPerSecond: number | null;
  totalCostUsd: number;
  costPerRequestUsd: number | null;
  costPer1kTokensUsd: number | null;
  quality: { name: string; count: number; mean: number | null }[];
}

export interface ModelComparisonParent {
  from: Date;
  to: Date;
  plan: Pick<TraceStatsResult, 'pieces' | 'percentileMethod'>;
  models: ModelComparisonRow[];
}

export async function compareModels(
  ctx: RequestContext,
  args: { models: readonly string[]; range: { from?: Date | null; to?: Date | null; last?: string | null }; filter?: TraceFilterInput | null },
  opts: { percentiles?: boolean; quality?: boolean; columns?: StatsColumns } = {},
): Promise<ModelComparisonParent> {
  const models = [...new Set(args.models)];
  if (models.length < 1 || models.length > 10) throw badInput('compareModels takes 1 to 10 models', { argument: 'models' });
  if (args.filter?.models) throw badInput('Give the models in `models`, not in filter.models');
  const a = resolveReportArgs({ range: args.range, filter: args.filter }, ctx.services.config);
  const filter = { ...a.filter, models };
  const wantQuality = opts.quality ?? true;
  const scorePlans = await planScores(ctx.services, { from: a.from, to: a.to, filter, dims: ['MODEL'], interval: null });
  // The score means and the models' providers are read in the trace statements' transaction.
  const [stats, extra] = await computeTraceStatsWith(
    ctx.services,
    ctx.scope,
    { from: a.from, to: a.to, filter, dims: ['MODEL'], interval: null, percentiles: opts.percentiles ?? true,
      // Only the per-model latency is answered.
      percentileLevels: { total: false, group: true, series: false, groupSeries: false }, columns: opts.columns, groupLimit: 10 },
    async (trx) => {
      // Side by side with the trace statements: one round trip in a read batch.
      const [quality, providers] = await Promise.all([
        !wantQuality ? [] : sumScores(trx, scorePlans, { scope: ctx.scope, filter: { ...filter, from: a.from, to: a.to }, names: null, dims: ['MODEL'], interval: null }),
        sql<{ model: string; provider: string }>`
          SELECT DISTINCT ON (model) model, provider FROM model_prices
           WHERE model = ANY(${models}::text[]) ORDER BY model, effective_from DESC /* findProvidersOfModels */`.execute(trx),
      ]);
      return { quality, providers: providers.rows };
    },
  );
  const byModel = new Map(stats.groups.map((g) => [g.key.model, g.acc]));
  await refuseUnknownModels(ctx, models.filter((m) => !byModel.has(m) && !extra.providers.some((p) => p.model === m)));
  return {
    from: a.from,
    to: a.to,
    plan: stats,
    models: models.map((model): ModelComparisonRow => {
      const acc = byModel.get(model) ?? emptyAcc();
      const quality = extra.quality
        .filter((q) => q.d0 === model)
        .sort((x, y) => x.name.localeCompare(y.name))
        .map((q) => ({ name: q.name, count: q.n, mean: q.value_n ? q.value_sum / q.value_n : null }));
      return {
        model,
        provider: extra.providers.find((x) => x.model === model)?.provider ?? null,
        requestCount: acc.n,
        errorRate: errorRate(acc) ?? 0,
        latency: acc,
        ttftAvgMs: ttftAvgMs(acc),
        tokensPerSecond: tokensPerSecond(acc),
        totalCostUsd: usdNumber(acc.totalCost),
        costPerRequestUsd: costPerRequestUsd(acc),
        costPer1kTokensUsd: costPer1kTokensUsd(acc),
        quality,
      };
    }),
  };
}

/**
 * A model with no traffic in the range is answered with zeros only when it is a model: one the
 * price table knows or one the caller's scope has calls of (within retention). Anything else is
 * most likely a typo, and zeros would pass for "no traffic": a coded BAD_USER_INPUT naming it.
 * Runs only for the models that came back empty, so a normal comparison pays nothing for it.
 */
async function refuseUnknownModels(ctx: RequestContext, candidates: readonly string[]): Promise<void> {
  if (!candidates.length) return;
  const { database } = ctx.services;
  const scope = ctx.scope;
  const seen = await withTimedRead(database, 'simple', async (trx) =>
    (
      await sql<{ model: string }>`
        SELECT m AS model FROM unnest(${[...candidates]}::text[]) AS m
         WHERE EXISTS (SELECT 1 FROM traces t
                        WHERE t.model = m AND t.org_id = ${scope.orgId}
                          ${scope.projectIds ? sql`AND t.project_id = ANY(${[...scope.projectIds]}::text[])` : sql``}) /* findSeenModels */`.execute(trx)
    ).rows.map((r) => r.model),
  );
  const unknown = candidates.filter((m) => !seen.includes(m));
  if (unknown.length) {
    throw badInput(
      `Unknown model${unknown.length > 1 ? 's' : ''} in models: ${unknown.join(', ')} (no calls in your scope and no price entry); filterValues(dimension: MODEL) lists the models seen`,
      { argument: 'models', unknownModels: unknown },
    );
  }
}
