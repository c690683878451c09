import type { RequestContext } from '../../context';
import { withStatementTimeout } from '../../db/database';
import { badInput } from '../../shared/errors';
import { groupKeyOf, type GroupKeyValue } from '../../query/dimensions';
import type { Interval } from '../../query/intervals';
import { bucketSnapper, bucketStarts, isZoned } from '../../query/calendar-buckets';
import { resolveReportArgs, type ReportArgs } from '../../query/report-args';
import { computeTraceStats } from '../../query/trace-stats';
import { cachedRollupWatermarks } from '../../db/rollup-refresh';
import { rollupsCanAnswer, type Dimension } from '../../query/dimensions';
import { familyLevels, pickSources, type RollupFamilyName, type SourcePiece } from '../../query/source-plan';
import type { PlanParent } from '../metrics/metrics.mappers';
import type { TraceFilter } from '../../query/trace-filter';
import type { Scope } from '../../auth/viewer';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';
import type { DatabaseHandle } from '../../db/database';
import {
  countScoreBins,
  countScoreBinsPlanned,
  countScoreLabels,
  countScoreLabelsPlanned,
  countScoredTraces,
  countScoredTracesPlanned,
  scoreDimensionsCarried,
  sumScoresByName,
  sumScoresPlanned,
  type ScoreAggRow,
} from './quality.repository';

interface Sum {
  n: number;
  valueN: number;
  valueSum: number;
  min: number | null;
  max: number | null;
}
const emptySum = (): Sum => ({ n: 0, valueN: 0, valueSum: 0, min: null, max: null });
const mean = (s: Sum) => (s.valueN > 0 ? s.valueSum / s.valueN : null);

export interface ScoreSummary {
  name: string;
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  bins: { lower: number; upper: number; count: number }[];
  labels: { label: string; count: number; fraction: number }[];
  groups: { key: GroupKeyValue; count: number; mean: number | null }[];
  series: { timestamp: Date; count: number; mean: number | null }[];
}

export interface QualityReport {
  from: Date;
  to: Date;
  interval: Interval | null;
  timeZone: string;
  traceCount: number;
  tracesWithScores: number;
  feedbackShare: number;
  scores: ScoreSummary[];
  plan: PlanParent;
}

/** Source plans for the three score families, or null when only the raw join can answer. */
export interface ScorePlans {
  scores: SourcePiece[];
  score_values: SourcePiece[];
  scored_traces: SourcePiece[];
}

export async function planScores(
  deps: { database: DatabaseHandle; config: { analytics: { useRollups: boolean } } },
  q: { from: Date; to: Date; filter: TraceFilter; dims: readonly Dimension[]; interval: Interval | null; timeZone?: string },
): Promise<ScorePlans | null> {
  if (!deps.config.analytics.useRollups || !rollupsCanAnswer(q.filter, q.dims) || !scoreDimensionsCarried(q.dims)) return null;
  const watermarks = await cachedRollupWatermarks(deps.database);
  const plan = (family: RollupFamilyName, interval: Interval | null) =>
    pickSources({ from: q.from, to: q.to, interval, rollups: true, watermarks, levels: familyLevels(family), timeZone: q.timeZone });
  // Only the sums have a series; bins, labels and scored traces are totals over the range.
  return { scores: plan('scores', q.interval), score_values: plan('score_values', null), scored_traces: plan('scored_traces', null) };
}

/** Score sums per (name, time, group): from the rollups when planned, else the raw join. */
export function sumScores(
  db: Kysely<Database>,
  plans: ScorePlans | null,
  q: { scope: Scope; filter: TraceFilter; names: readonly string[] | null; dims: readonly Dimension[]; interval: Interval | null; timeZone?: string },
): Promise<ScoreAggRow[]> {
  if (!plans) return sumScoresByName(db, q);
  const { from: _f, to: _t, ...filter } = q.filter;
  return sumScoresPlanned(db, { ...q, filter }, plans.scores);
}

export async function qualityReport(
  ctx: RequestContext,
  args: ReportArgs & { names?: readonly string[] | null },
  opts: { bins?: boolean; labels?: boolean; scored?: boolean } = {},
): Promise<QualityReport> {
  const a = resolveReportArgs(args, ctx.services.config);
  const names = args.names ?? null;
  if (names && (names.length === 0 || names.length > 50)) throw badInput('names takes 1 to 50 score names', { argument: 'names' });
  const filter = { ...a.filter, from: a.from, to: a.to };
  const { database } = ctx.services;
  const q = { scope: ctx.scope, filter, names };
  const plans = await planScores(ctx.services, { from: a.from, to: a.to, filter: a.filter, dims: a.dims, interval: a.interval, timeZone: a.timeZone });
  const planned = { scope: ctx.scope, filter: a.filter, names, dims: a.dims, interval: a.interval, timeZone: a.timeZone };
  const starts = a.interval ? bucketStarts(a.from, a.to, a.interval, a.timeZone) : [];
  const snap = bucketSnapper(starts, isZoned(a.interval, a.timeZone));
  // Bins, labels and scored traces are read only when selected (default: all, as before).
  const want = { bins: opts.bins ?? true, labels: opts.labels ?? true, scored: opts.scored ?? true };
  const [traffic, data] = await Promise.all([
    computeTraceStats(ctx.services, ctx.scope, { from: a.from, to: a.to, filter: a.filter, dims: [], interval: null, percentiles: false }),
    withStatementTimeout(database, database.readDb, 'aggregate', async (trx) =>
      plans
        ? {
            sums: await sumScoresPlanned(trx, planned, plans.scores),
            bins: want.bins ? await countScoreBinsPlanned(trx, planned, plans.score_values) : [],
            labels: want.labels ? await countScoreLabelsPlanned(trx, planned, plans.scores) : [],
            scored: want.scored ? await countScoredTracesPlanned(trx, planned, plans.scored_traces) : { scored: 0, human: 0 },
          }
        : {
            sums: await sumScoresByName(trx, { ...q, dims: a.dims, interval: a.interval, timeZone: a.timeZone }),
            bins: want.bins ? await countScoreBins(trx, q) : [],
            labels: want.labels ? await countScoreLabels(trx, q) : [],
            scored: want.scored ? await countScoredTraces(trx, { scope: ctx.scope, filter }) : { scored: 0, human: 0 },
          },
    ),
  ]);

  const byName = new Map<string, { total: Sum; groups: Map<string, { values: (string | null)[]; sum: Sum }>; series: Map<number, Sum> }>();
  for (const r of data.sums) {
    let e = byName.get(r.name);
    if (!e) byName.set(r.name, (e = { total: emptySum(), groups: new Map(), series: new Map() }));
    const targets = [e.total];
    if (a.dims.length) {
      const k = JSON.stringify([r.d0, r.d1, r.d2]);
      let g = e.groups.get(k);
      if (!g) e.groups.set(k, (g = { values: [r.d0, r.d1, r.d2].slice(0, a.dims.length), sum: emptySum() }));
      targets.push(g.sum);
    }
    if (r.t) {
      const t = snap(new Date(r.t).getTime());
      let s = e.series.get(t);
      if (!s) e.series.set(t, (s = emptySum()));
      targets.push(s);
    }
    for (const s of targets) {
      s.n += r.n;
      s.valueN += r.value_n;
      s.valueSum += r.value_sum;
      s.min = s.min === null ? r.value_min : r.value_min === null ? s.min : Math.min(s.min, r.value_min);
      s.max = s.max === null ? r.value_max : r.value_max === null ? s.max : Math.max(s.max, r.value_max);
    }
  }

  const scores: ScoreSummary[] = [...byName.entries()]
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([name, e]) => {
      const binRows = data.bins.filter((b) => b.name === name);
      const bins: ScoreSummary['bins'] = [];
      if (binRows.length) {
        const lo = binRows[0]!.lower;
        const hi = binRows[0]!.upper > lo ? binRows[0]!.upper : lo + 1;
        const width = (hi - lo) / 10;
        for (let i = 1; i <= 10; i++) {
          bins.push({ lower: lo + (i - 1) * width, upper: lo + i * width, count: binRows.find((b) => b.bin === i)?.n ?? 0 });
        }
      }
      const labelRows = data.labels.filter((l) => l.name === name);
      const labelled = labelRows.reduce((acc, l) => acc + l.n, 0);
      const series: ScoreSummary['series'] = [];
      for (const t of starts) {
        const s = e.series.get(t) ?? emptySum();
        series.push({ timestamp: new Date(t), count: s.n, mean: mean(s) });
      }
      return {
        name,
        count: e.total.n,
        mean: mean(e.total),
        min: e.total.min,
        max: e.total.max,
        bins,
        labels: labelRows
          .sort((x, y) => y.n - x.n || x.label.localeCompare(y.label))
          .map((l) => ({ label: l.label, count: l.n, fraction: labelled ? l.n / labelled : 0 })),
        groups: [...e.groups.values()]
          .sort((x, y) => y.sum.n - x.sum.n || JSON.stringify(x.values).localeCompare(JSON.stringify(y.values)))
          .slice(0, a.groupLimit)
          .map((g) => ({ key: groupKeyOf(a.dims, g.values), count: g.sum.n, mean: mean(g.sum) })),
        series,
      };
    });

  const traceCount = traffic.totals.n;
  return {
    from: a.from,
    to: a.to,
    interval: a.interval,
    timeZone: a.timeZone,
    traceCount,
    tracesWithScores: data.scored.scored,
    feedbackShare: traceCount ? data.scored.human / traceCount : 0,
    scores,
    // The sums' plan; percentiles do not apply to scores (bins are exact value counts).
    plan: { pieces: plans ? plans.scores : [{ source: 'traces', from: a.from, to: a.to }], percentileMethod: 'EXACT' },
  };
}
