import type { RequestContext } from '../../context';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';
import { badInput } from '../../shared/errors';
import { groupKeyOf, type GroupKeyValue } from '../../query/dimensions';
import type { Interval } from '../../query/intervals';
import { resolveReportArgs, type ReportArgs, type ResolvedReportArgs } from '../../query/report-args';
import { computeTraceStatsWith, type StatsPlan } from '../../query/trace-stats';
import { COUNT_COLUMNS } from '../../query/trace-stats.repository';
import { planScores, type ScorePlans } from '../../query/score-plan';
import { createCells, timeline, type Cells, type Timeline } from '../../query/group-series';
import {
  countScoreBins,
  countScoreBinsPlanned,
  countScoreLabels,
  countScoreLabelsPlanned,
  countScoredTraces,
  countScoredTracesPlanned,
  sumScoresByName,
  sumScoresPlanned,
  type ScoreAggRow,
} from '../../query/score-stats.repository';

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
  plan: StatsPlan;
}

type BinRow = { name: string; bin: number; lower: number; upper: number; n: number };
type LabelRow = { name: string; label: string; n: number };
interface ScoreData {
  sums: ScoreAggRow[];
  bins: BinRow[];
  labels: LabelRow[];
  scored: { scored: number; human: number };
}
interface Wanted {
  bins: boolean;
  labels: boolean;
  scored: boolean;
}

export async function qualityReport(
  ctx: RequestContext,
  args: ReportArgs & { names?: readonly string[] | null },
  opts: { bins?: boolean; labels?: boolean; scored?: boolean } = {},
): Promise<QualityReport> {
  const a = resolveReportArgs(args, ctx.services.config);
  const names = args.names ?? null;
  if (names && (names.length === 0 || names.length > 50)) throw badInput('names takes 1 to 50 score names', { argument: 'names' });
  const plans = await planScores(ctx.services, { from: a.from, to: a.to, filter: a.filter, dims: a.dims, interval: a.interval, timeZone: a.timeZone });
  // Bins, labels and scored traces are read only when selected (default: all, as before).
  const want = { bins: opts.bins ?? true, labels: opts.labels ?? true, scored: opts.scored ?? true };
  // The traffic count (only its request count is used: traceCount, feedbackShare) and the
  // score statements in one transaction.
  const [traffic, data] = await computeTraceStatsWith(
    ctx.services,
    ctx.scope,
    { from: a.from, to: a.to, filter: a.filter, dims: [], interval: null, percentiles: false, columns: COUNT_COLUMNS },
    (trx) => readScoreData(trx, ctx, a, names, plans, want),
  );
  const tl = timeline(a.from, a.to, a.interval, a.timeZone);
  const byName = sumsByName(data.sums, a.dims.length, tl);
  const scores = [...byName.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([name, c]) => scoreSummary(name, c, data, a, tl));
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

/** Sums, bins, labels and scored traces (inside the caller's read): from the score rollups when planned, else the raw join. */
async function readScoreData(trx: Kysely<Database>, ctx: RequestContext, a: ResolvedReportArgs, names: readonly string[] | null, plans: ScorePlans | null, want: Wanted): Promise<ScoreData> {
  const filter = { ...a.filter, from: a.from, to: a.to };
  const q = { scope: ctx.scope, filter, names };
  const planned = { scope: ctx.scope, filter: a.filter, names, dims: a.dims, interval: a.interval, timeZone: a.timeZone };
  const none = { scored: 0, human: 0 };
  // Started side by side: a read batch sends them in one round trip.
  const [sums, bins, labels, scored] = await Promise.all(
    plans
      ? [
          sumScoresPlanned(trx, planned, plans.scores),
          want.bins ? countScoreBinsPlanned(trx, planned, plans.score_values) : [],
          want.labels ? countScoreLabelsPlanned(trx, planned, plans.scores) : [],
          want.scored ? countScoredTracesPlanned(trx, planned, plans.scored_traces) : none,
        ]
      : [
          sumScoresByName(trx, { ...q, dims: a.dims, interval: a.interval, timeZone: a.timeZone }),
          want.bins ? countScoreBins(trx, q) : [],
          want.labels ? countScoreLabels(trx, q) : [],
          want.scored ? countScoredTraces(trx, { scope: ctx.scope, filter }) : none,
        ],
  );
  return { sums, bins, labels, scored };
}

function addScoreRow(s: Sum, r: ScoreAggRow): void {
  s.n += r.n;
  s.valueN += r.value_n;
  s.valueSum += r.value_sum;
  s.min = s.min === null ? r.value_min : r.value_min === null ? s.min : Math.min(s.min, r.value_min);
  s.max = s.max === null ? r.value_max : r.value_max === null ? s.max : Math.max(s.max, r.value_max);
}

/** Per score name: the total, its groups and its buckets (no group series: scores show none). */
function sumsByName(rows: readonly ScoreAggRow[], dimCount: number, tl: Timeline): Map<string, Cells<Sum>> {
  const byName = new Map<string, Cells<Sum>>();
  for (const r of rows) {
    let c = byName.get(r.name);
    if (!c) byName.set(r.name, (c = createCells(emptySum, dimCount, { groupSeries: false })));
    for (const s of c.cellsOf(r, tl.timeOf(r.t))) addScoreRow(s, r);
  }
  return byName;
}

/** Ten equal bins over the name's [lower, upper] value range (a point range is one unit wide). */
function binsOf(rows: readonly BinRow[]): ScoreSummary['bins'] {
  const bins: ScoreSummary['bins'] = [];
  if (!rows.length) return bins;
  const lo = rows[0]!.lower;
  const hi = rows[0]!.upper > lo ? rows[0]!.upper : lo + 1;
  const width = (hi - lo) / 10;
  for (let i = 1; i <= 10; i++) bins.push({ lower: lo + (i - 1) * width, upper: lo + i * width, count: rows.find((b) => b.bin === i)?.n ?? 0 });
  return bins;
}

function labelsOf(rows: LabelRow[]): ScoreSummary['labels'] {
  const labelled = rows.reduce((acc, l) => acc + l.n, 0);
  return rows
    .sort((x, y) => y.n - x.n || x.label.localeCompare(y.label))
    .map((l) => ({ label: l.label, count: l.n, fraction: labelled ? l.n / labelled : 0 }));
}

function scoreSummary(name: string, c: Cells<Sum>, data: ScoreData, a: ResolvedReportArgs, tl: Timeline): ScoreSummary {
  return {
    name,
    count: c.total.n,
    mean: mean(c.total),
    min: c.total.min,
    max: c.total.max,
    bins: binsOf(data.bins.filter((b) => b.name === name)),
    labels: labelsOf(data.labels.filter((l) => l.name === name)),
    groups: [...c.groups.values()]
      .sort((x, y) => y.acc.n - x.acc.n || JSON.stringify(x.values).localeCompare(JSON.stringify(y.values)))
      .slice(0, a.groupLimit)
      .map((g) => ({ key: groupKeyOf(a.dims, g.values), count: g.acc.n, mean: mean(g.acc) })),
    series: tl.fill(c.series, emptySum()).map(({ timestamp, value }) => ({ timestamp, count: value.n, mean: mean(value) })),
  };
}
