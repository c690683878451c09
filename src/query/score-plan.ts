import type { Kysely } from 'kysely';
import type { Scope } from '../auth/viewer';
import type { Database } from '../db/schema';
import type { DatabaseHandle } from '../db/database';
import { cachedRollupWatermarks } from '../db/rollup-refresh';
import { rollupsCanAnswer, type Dimension } from './dimensions';
import type { Interval } from './intervals';
import { familyLevels, pickSources, type RollupFamilyName, type SourcePiece } from './source-plan';
import type { TraceFilter } from './trace-filter';
import { scoreDimensionsCarried, sumScoresByName, sumScoresPlanned, type ScoreAggRow } from './score-stats.repository';

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
  // Without a provider, model or environment filter (a dashboard's) the bins and scored traces
  // read the rollups keyed by project only, and so do the sums and labels when no grouping asks
  // for one of those either: the same counts summed over fewer rows.
  const f = q.filter;
  const byProjectOnly = f.providers === undefined && f.models === undefined && f.environments === undefined;
  const sumsByProject = byProjectOnly && q.dims.every((d) => d === 'PROJECT');
  return {
    scores: plan(sumsByProject ? 'project_scores' : 'scores', q.interval),
    score_values: plan(byProjectOnly ? 'project_score_values' : 'score_values', null),
    scored_traces: plan(byProjectOnly ? 'project_scored_traces' : 'scored_traces', null),
  };
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
