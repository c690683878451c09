import type { MigrationOptions } from './rollup-definitions';
import { familyRollupsOf } from './20261203090100_family_rollups';

/**
 * Trace rollups keyed by provider and model only (traces_model_1min / _1hour / _1day): the same
 * columns as traces_1min… (sums, min/max, latency histogram) without project and environment in
 * the key, for org-wide reports that neither filter nor group by those. Created empty like the
 * other family rollups; the first refresh fills them from the first trace on.
 */
export function modelRollups(opts: MigrationOptions) {
  return familyRollupsOf('20261219090000_model_rollups', opts);
}
