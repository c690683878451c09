import type { MigrationOptions } from './rollup-definitions';
import { familyRollupsOf } from './20261203090100_family_rollups';

/**
 * Exact score value counts keyed by project only (project_score_values_1hour / _1day): what a
 * quality report without a provider, model or environment filter reads for its bins. Created
 * empty like the other family rollups; the first refresh fills them from the first score on.
 */
export function projectScoreValues(opts: MigrationOptions) {
  return familyRollupsOf('20261216090000_project_score_values', opts);
}
