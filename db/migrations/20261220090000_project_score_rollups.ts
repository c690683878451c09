import type { MigrationOptions } from './rollup-definitions';
import { familyRollupsOf } from './20261203090100_family_rollups';

/**
 * Score sums and scored traces keyed by project only (project_scores_1min / _1hour / _1day,
 * project_scored_traces_1min / _1hour / _1day): what a quality report without a provider, model
 * or environment in its filter or grouping reads. Created empty like the other family rollups;
 * the first refresh fills them from the first score on.
 */
export function projectScoreRollups(opts: MigrationOptions) {
  return familyRollupsOf('20261220090000_project_score_rollups', opts);
}
