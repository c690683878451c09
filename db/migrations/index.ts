import type { Migration } from 'kysely';
import type { MigrationOptions } from './rollup-definitions';
import { coreTables } from './20261126000100_core_tables';
import { rollups } from './20261126000200_rollups';
import { storagePolicies } from './20261126000300_storage_policies';
import { traceSearch } from './20261126000400_trace_search';
import { scoreDimensions } from './20261203090000_score_dimensions';
import { familyRollups } from './20261203090100_family_rollups';
import { exportJobsQueue } from './20261203110000_export_jobs_queue';
import { valueSearch } from './20261203130000_value_search';
import { ingestRole } from './20261203150000_ingest_role';
import { spanIdentity } from './20261204150000_span_identity';
import { deferredSearch } from './20261215010000_deferred_search';
import { projectScoreValues } from './20261216090000_project_score_values';
import { projectScoreValuesWeek } from './20261217090000_project_score_values_week';
import { dayEndOffset } from './20261218090000_day_end_offset';
import { modelRollups } from './20261219090000_model_rollups';
import { projectScoreRollups } from './20261220090000_project_score_rollups';

/** Every migration, keyed by its timestamped name; a static list works the same under tsx, tsc and Jest. */
export function allMigrations(opts: MigrationOptions): Record<string, Migration> {
  return {
    '20261126000100_core_tables': coreTables(opts),
    '20261126000200_rollups': rollups(opts),
    '20261126000300_storage_policies': storagePolicies(opts),
    '20261126000400_trace_search': traceSearch(opts),
    '20261203090000_score_dimensions': scoreDimensions(opts),
    '20261203090100_family_rollups': familyRollups(opts),
    '20261203110000_export_jobs_queue': exportJobsQueue(opts),
    '20261203130000_value_search': valueSearch(opts),
    '20261203150000_ingest_role': ingestRole(opts),
    '20261204150000_span_identity': spanIdentity(opts),
    '20261215010000_deferred_search': deferredSearch(opts),
    '20261216090000_project_score_values': projectScoreValues(opts),
    '20261217090000_project_score_values_week': projectScoreValuesWeek(opts),
    '20261218090000_day_end_offset': dayEndOffset(opts),
    '20261219090000_model_rollups': modelRollups(opts),
    '20261220090000_project_score_rollups': projectScoreRollups(opts),
  };
}
