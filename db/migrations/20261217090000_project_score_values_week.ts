import type { MigrationOptions } from './rollup-definitions';
import { familyRollupsOf } from './20261203090100_family_rollups';

/**
 * Weekly exact score value counts keyed by project (project_score_values_1week; Monday 00:00
 * UTC buckets, time_bucket's origin): quality bins over weeks to months read one row per
 * (week, project, name, value) instead of one per day. Created empty; the first refresh fills it.
 */
export function projectScoreValuesWeek(opts: MigrationOptions) {
  return familyRollupsOf('20261217090000_project_score_values_week', opts);
}
