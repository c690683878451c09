import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Table types for Kysely; they mirror db/migrations and are the only description of rows. */

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** pg returns numeric and bigint as strings; we keep them strings at the edge and convert in services. */
type Numeric = ColumnType<string, number | string, number | string>;
type BigIntCol = ColumnType<string, number | string | bigint, number | string | bigint>;

export type Role = 'ADMIN' | 'DEVELOPER' | 'VIEWER' | 'BILLING' | 'INGEST';

export interface OrgsTable {
  id: string;
  name: string;
  created_at: CreatedAt;
}

export interface ProjectsTable {
  id: string;
  org_id: string;
  name: string;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  id: Generated<string>;
  org_id: string;
  name: string;
  /** sha256 of the secret; the secret itself is never stored. */
  key_hash: string;
  /** First characters of the key, for people to recognise it in listings. */
  key_prefix: string;
  role: Role;
  project_ids: ColumnType<string[] | null, string[] | null, string[] | null>;
  created_at: CreatedAt;
  revoked_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  last_used_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
}

export interface ModelPricesTable {
  provider: string;
  model: string;
  prompt_usd_per_1k: Numeric;
  completion_usd_per_1k: Numeric;
  cached_usd_per_1k: Numeric;
  effective_from: Timestamp;
}

export interface TracesTable {
  ts: Timestamp;
  id: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  org_id: string;
  project_id: string;
  provider: string;
  model: string;
  operation: string;
  user_id: string | null;
  session_id: string | null;
  environment: string;
  status_code: number;
  error_type: string | null;
  duration_ms: number;
  ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  prompt_cost_usd: Numeric;
  completion_cost_usd: Numeric;
  total_cost_usd: Numeric;
  input: string | null;
  output: string | null;
  metadata: ColumnType<Record<string, unknown>, string | Record<string, unknown>, string | Record<string, unknown>>;
  tags: ColumnType<string[], string[], string[]>;
}

export interface ScoresTable {
  id: Generated<string>;
  trace_id: string;
  ts: Timestamp;
  org_id: string;
  project_id: string;
  name: string;
  value: number | null;
  label: string | null;
  source: 'human' | 'llm' | 'heuristic';
  comment: string | null;
  /** The trace's time and dimensions, copied onto the score (a trigger fills them when left out). */
  trace_ts: ColumnType<Date, Date | string | undefined, Date | string>;
  provider: ColumnType<string | null, string | null | undefined, string | null>;
  model: ColumnType<string | null, string | null | undefined, string | null>;
  environment: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ExportJobsTable {
  id: Generated<string>;
  org_id: string;
  requested_by: string;
  format: string;
  filter: ColumnType<Record<string, unknown>, string, string>;
  status: string;
  row_count: BigIntCol | null;
  location: string | null;
  error: string | null;
  created_at: CreatedAt;
  finished_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  columns: ColumnType<string[], string[] | undefined, string[]>;
  compression: ColumnType<string, string | undefined, string>;
  scope_project_ids: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  window_from: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  window_to: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  rows_total: BigIntCol | null;
  rows_written: ColumnType<string, string | number | undefined, string | number>;
  bytes: BigIntCol | null;
  file_key: string | null;
  started_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  heartbeat_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  attempts: ColumnType<number, number | undefined, number>;
  boss_job_id: string | null;
}

export interface GatewaySecretsTable {
  name: string;
  value: string;
  created_at: CreatedAt;
}

/** One row per (bucket, org, project, provider, model, environment); same columns in every rollup. */
export interface RollupTable {
  bucket: Timestamp;
  org_id: string;
  project_id: string;
  provider: string;
  model: string;
  environment: string;
  request_count: BigIntCol;
  error_count: BigIntCol;
  duration_sum: number;
  duration_min: number;
  duration_max: number;
  ttft_sum: number | null;
  ttft_count: BigIntCol;
  ttft_min: number | null;
  ttft_max: number | null;
  prompt_tokens_sum: BigIntCol;
  completion_tokens_sum: BigIntCol;
  cached_tokens_sum: BigIntCol;
  total_tokens_sum: BigIntCol;
  total_tokens_min: number;
  total_tokens_max: number;
  prompt_cost_sum: Numeric;
  completion_cost_sum: Numeric;
  total_cost_sum: Numeric;
  total_cost_min: Numeric;
  total_cost_max: Numeric;
  latency_hist: ColumnType<number[], never, never>;
}

/** Per-user trace rollups: the trace rollups' columns keyed by (bucket, org, project, user). */
export type UserRollupTable = Omit<RollupTable, 'provider' | 'model' | 'environment'> & { user_id: string | null };
export type ModelRollupTable = Omit<RollupTable, 'project_id' | 'environment'>;

interface ScoreRollupKeys {
  bucket: Timestamp;
  org_id: string;
  project_id: string;
  provider: string;
  model: string;
  environment: string;
}
export interface ScoreRollupTable extends ScoreRollupKeys {
  name: string;
  source: string;
  label: string | null;
  score_count: BigIntCol;
  value_count: BigIntCol;
  value_sum: number | null;
  value_min: number | null;
  value_max: number | null;
}
export interface ScoreValueRollupTable extends ScoreRollupKeys {
  name: string;
  value: number;
  value_count: BigIntCol;
}
/** Exact value counts keyed by project only (quality bins without a provider/model/environment filter). */
export type ProjectScoreValueRollupTable = Omit<ScoreValueRollupTable, 'provider' | 'model' | 'environment'>;
export type ProjectScoreRollupTable = Omit<ScoreRollupTable, 'provider' | 'model' | 'environment'>;
export type ProjectScoredTraceRollupTable = Omit<ScoredTraceRollupTable, 'provider' | 'model' | 'environment'>;
export interface ScoredTraceRollupTable extends ScoreRollupKeys {
  scored_traces: BigIntCol;
  human_traces: BigIntCol;
}

export interface RollupStateTable {
  rollup: string;
  refreshed_to: Timestamp;
  updated_at: Timestamp;
}

export interface Database {
  orgs: OrgsTable;
  projects: ProjectsTable;
  api_keys: ApiKeysTable;
  model_prices: ModelPricesTable;
  traces: TracesTable;
  scores: ScoresTable;
  export_jobs: ExportJobsTable;
  gateway_secrets: GatewaySecretsTable;
  traces_1min: RollupTable;
  traces_1hour: RollupTable;
  traces_1day: RollupTable;
  traces_user_1hour: UserRollupTable;
  traces_user_1day: UserRollupTable;
  traces_model_1min: ModelRollupTable;
  traces_model_1hour: ModelRollupTable;
  traces_model_1day: ModelRollupTable;
  scores_1min: ScoreRollupTable;
  scores_1hour: ScoreRollupTable;
  scores_1day: ScoreRollupTable;
  score_values_1min: ScoreValueRollupTable;
  score_values_1hour: ScoreValueRollupTable;
  score_values_1day: ScoreValueRollupTable;
  project_score_values_1hour: ProjectScoreValueRollupTable;
  project_score_values_1day: ProjectScoreValueRollupTable;
  project_score_values_1week: ProjectScoreValueRollupTable;
  scored_traces_1min: ScoredTraceRollupTable;
  scored_traces_1hour: ScoredTraceRollupTable;
  scored_traces_1day: ScoredTraceRollupTable;
  project_scores_1min: ProjectScoreRollupTable;
  project_scores_1hour: ProjectScoreRollupTable;
  project_scores_1day: ProjectScoreRollupTable;
  project_scored_traces_1min: ProjectScoredTraceRollupTable;
  project_scored_traces_1hour: ProjectScoredTraceRollupTable;
  project_scored_traces_1day: ProjectScoredTraceRollupTable;
  rollup_state: RollupStateTable;
}

/** The trace rollups (the planner's default family). */
export type RollupName = 'traces_1min' | 'traces_1hour' | 'traces_1day';
export type UserRollupName = 'traces_user_1hour' | 'traces_user_1day';
/** Trace rollups keyed by provider and model only (org-wide reports). */
export type ModelRollupName = 'traces_model_1min' | 'traces_model_1hour' | 'traces_model_1day';
export type ProjectScoreValueRollupName = 'project_score_values_1hour' | 'project_score_values_1day' | 'project_score_values_1week';
export type ScoreRollupFamily = 'scores' | 'score_values' | 'scored_traces' | 'project_scores' | 'project_scored_traces';
/** Every materialized rollup, of every family. */
export type AnyRollupName = RollupName | UserRollupName | ModelRollupName | ProjectScoreValueRollupName | `${ScoreRollupFamily}_${'1min' | '1hour' | '1day'}`;
export type TraceRow = Selectable<TracesTable>;
export type NewTrace = Insertable<TracesTable>;
export type ScoreRow = Selectable<ScoresTable>;
export type ProjectRow = Selectable<ProjectsTable>;
