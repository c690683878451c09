import type { RequestContext } from '../../context';
import { withStatementTimeout } from '../../db/database';
import { badInput } from '../../shared/errors';
import { groupKeyOf, type GroupKeyValue } from '../metrics/dimensions';
import { INTERVAL_MS, floorToInterval, type Interval } from '../metrics/intervals';
import { resolveReportArgs, type ReportArgs } from '../metrics/report-args';
import { computeTraceStats } from '../metrics/trace-stats.service';
import { countScoreBins, countScoreLabels, countScoredTraces, sumScoresByName } from './quality.repository';

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
  traceCount: number;
  tracesWithScores: number;
  feedbackShare: number;
  scores: ScoreSummary[];
}

export async function qualityReport(ctx: RequestContext, args: ReportArgs & { names?: readonly string[] | null }): Promise<QualityReport> {
  const a = resolveReportArgs(args, ctx.services.config);
  const names = args.names ?? null;
  if (names && (names.length === 0 || names.length > 50)) throw badInput('names takes 1 to 50 score names', { argument: 'names' });
  const filter = { ...a.filter, from: a.from, to: a.to };
  const { database } = ctx.services;
  const q = { scope: ctx.scope, filter, names };
  const [traffic, data] = await Promise.all([
    computeTraceStats(ctx.services, ctx.scope, { from: a.from, to: a.to, filter: a.filter, dims: [], interval: null, percentiles: false }),
    withStatementTimeout(database, database.readDb, 'aggregate', async (trx) => ({
      sums: await sumScoresByName(trx, { ...q, dims: a.dims, interval: a.interval }),
      bins: await countScoreBins(trx, q),
      labels: await countScoreLabels(trx, q),
      scored: await countScoredTraces(trx, { scope: ctx.scope, filter }),
    })),
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
      const t = new Date(r.t).getTime();
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
      if (a.interval) {
        const step = INTERVAL_MS[a.interval];
        for (let t = floorToInterval(a.from.getTime(), step); t < a.to.getTime(); t += step) {
          const s = e.series.get(t) ?? emptySum();
          series.push({ timestamp: new Date(t), count: s.n, mean: mean(s) });
        }
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
    traceCount,
    tracesWithScores: data.scored.scored,
    feedbackShare: traceCount ? data.scored.human / traceCount : 0,
    scores,
  };
}
