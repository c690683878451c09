import type { AnyRollupName, RollupName } from '../db/schema';
import { BUCKET_ORIGIN_MS, type Interval } from './intervals';
import { nestingGrainMs } from './calendar-buckets';
import { FAMILY_ROLLUPS } from '../../db/migrations/rollup-definitions';

/**
 * Which table answers which part of a time range. Each piece is a half-open [from, to) slice;
 * pieces never overlap, so their sums merge exactly.
 */
export interface SourcePiece {
  /** A rollup, or 'traces': the family's raw rows (traces, or scores for the score families). */
  readonly source: AnyRollupName | 'traces';
  readonly from: Date;
  readonly to: Date;
}

export const ROLLUP_STEP_MS: Record<RollupName, number> = {
  traces_1day: 86_400_000,
  traces_1hour: 3_600_000,
  traces_1min: 60_000,
};
const COARSE_TO_FINE: RollupName[] = ['traces_1day', 'traces_1hour', 'traces_1min'];

export interface RollupLevel {
  readonly name: AnyRollupName;
  readonly stepMs: number;
}

/** A family's rollups, coarsest first. */
export type RollupFamilyName =
  | 'traces'
  | 'traces_user'
  | 'traces_model'
  | 'scores'
  | 'score_values'
  | 'project_scores'
  | 'project_score_values'
  | 'scored_traces'
  | 'project_scored_traces';
const STEP_BY_BUCKET: Record<string, number> = { '7 days': 604_800_000, '1 day': 86_400_000, '1 hour': 3_600_000, '1 minute': 60_000 };
const LEVELS = new Map<RollupFamilyName, readonly RollupLevel[]>();
export function familyLevels(family: RollupFamilyName): readonly RollupLevel[] {
  let levels = LEVELS.get(family);
  if (!levels) {
    levels =
      family === 'traces'
        ? COARSE_TO_FINE.map((name) => ({ name, stepMs: ROLLUP_STEP_MS[name] }))
        : FAMILY_ROLLUPS.filter((r) => r.def.family === family)
            .map((r) => ({ name: r.name as AnyRollupName, stepMs: STEP_BY_BUCKET[r.bucket]! }))
            .sort((x, y) => y.stepMs - x.stepMs);
    LEVELS.set(family, levels);
  }
  return levels;
}

const ceilTo = (t: number, step: number) => BUCKET_ORIGIN_MS + Math.ceil((t - BUCKET_ORIGIN_MS) / step) * step;
const floorTo = (t: number, step: number) => BUCKET_ORIGIN_MS + Math.floor((t - BUCKET_ORIGIN_MS) / step) * step;

/**
 * The coarsest rollups that answer exactly: a rollup serves the whole buckets it has completed
 * (before its watermark); partial buckets at the edges fall to finer rollups and finally to the
 * raw table. A series interval only uses rollups whose bucket divides it, and `rollups: false`
 * (a filter or dimension the rollups do not carry) sends everything to the raw table.
 */
export function pickSources(opts: {
  from: Date;
  to: Date;
  interval: Interval | null;
  rollups: boolean;
  watermarks: Readonly<Partial<Record<AnyRollupName, Date | null>>>;
  /** The rollup family to use (default: the trace rollups), coarsest first. */
  levels?: readonly RollupLevel[];
  /** The series' time zone (calendar buckets): only rollups whose UTC buckets nest in the local ones. */
  timeZone?: string;
}): SourcePiece[] {
  const all = opts.levels ?? COARSE_TO_FINE.map((name) => ({ name, stepMs: ROLLUP_STEP_MS[name] }));
  const grain = nestingGrainMs(opts.from, opts.to, opts.interval, opts.timeZone);
  const levels = !opts.rollups ? [] : all.filter((r) => grain === null || (grain > 0 && grain % r.stepMs === 0));
  const pieces: SourcePiece[] = [];
  const cover = (a: number, b: number, rest: readonly RollupLevel[]) => {
    if (a >= b) return;
    const [level, ...finer] = rest;
    if (!level) {
      pieces.push({ source: 'traces', from: new Date(a), to: new Date(b) });
      return;
    }
    const step = level.stepMs;
    const mark = opts.watermarks[level.name];
    const start = ceilTo(a, step);
    const end = Math.min(floorTo(b, step), mark ? floorTo(mark.getTime(), step) : -Infinity);
    if (start < end) {
      cover(a, start, finer);
      pieces.push({ source: level.name, from: new Date(start), to: new Date(end) });
      cover(end, b, finer);
    } else {
      cover(a, b, finer);
    }
  };
  cover(opts.from.getTime(), opts.to.getTime(), levels);
  return pieces;
}
