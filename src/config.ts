import { z } from 'zod';

/**
 * The only reader of process.env. Every bad variable is reported at once; the
 * result is a frozen, typed object that the rest of the code receives explicitly.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const postgresUrl = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname.length > 0;
    } catch {
      return false;
    }
  }, 'must be a postgres:// or postgresql:// URL with a host');

const redisUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'redis:' || u.protocol === 'rediss:';
  } catch {
    return false;
  }
}, 'must be a redis:// or rediss:// URL');

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Default: 127.0.0.1 for the embedded database (a demo on this machine), 0.0.0.0 with DATABASE_URL. */
  HOST: z.string().min(1).optional(),
  PORT: int(4000, 0, 65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./.data'),
  /** auto: embedded when DATABASE_URL is absent, otherwise detect TimescaleDB on the server. */
  DATABASE_MODE: z.enum(['auto', 'embedded', 'timescale', 'postgres']).default('auto'),
  /**
   * Embedded mode: let V8 optimise PGlite's WebAssembly (TurboFan). Off (default): baseline
   * code only (Liftoff), about 90 MB less resident memory for ~20 % slower CPU-bound SQL.
   */
  EMBEDDED_WASM_OPTIMIZE: bool.default(false),
  /** Young generation of the embedded database's worker thread (its protocol garbage), MB. */
  EMBEDDED_WORKER_YOUNG_MB: int(16, 2, 256),
  EMBEDDED_SHARED_BUFFERS_MB: int(28, 1, 128),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_READONLY_URL: postgresUrl.optional(),
  DB_POOL_MAX: int(20, 1, 1000),
  DB_POOL_MIN: int(5, 0, 1000),
  DB_ACQUIRE_TIMEOUT_MS: int(5000, 1),
  DB_IDLE_TIMEOUT_MS: int(30000, 0),
  DB_MAX_LIFETIME_S: int(1800, 0),
  STATEMENT_TIMEOUT_SIMPLE_MS: int(5000, 1),
  STATEMENT_TIMEOUT_AGGREGATE_MS: int(30000, 1),
  ROLLUP_REFRESH_INTERVAL_MS: int(60000, 0),
  RETENTION_DAYS: int(90, 1),
  SEARCH_INDEX_INTERVAL_MS: int(1000, 0),
  SEARCH_INDEX_BATCH_ROWS: int(20000, 1),
  MAX_SERIES_POINTS: int(1000, 10, 100000),
  /** Ranges up to this many hours get exact percentiles from raw rows; longer ones merge rollup histograms. */
  EXACT_PERCENTILES_MAX_HOURS: int(6, 0, 24 * 90),
  /** Off: every aggregation reads raw traces (diagnosing rollups; the raw-vs-rollup benchmark). */
  ANALYTICS_USE_ROLLUPS: bool.default(true),
  /** Default: on, except with NODE_ENV=production (demo keys are printed). */
  DEMO_DATA: bool.optional(),
  DEMO_TRACES: int(60000, 0, 2_000_000),
  DEMO_DAYS: int(14, 1, 90),
  /** With demo data: a generator sends a few synthetic calls per second through POST /v1/traces. */
  DEMO_LIVE: bool.default(true),
  DEMO_LIVE_PER_SECOND: int(3, 1, 1000),
  // OTLP/HTTP ingestion (POST /v1/traces, src/ingest).
  OTLP_ENABLED: bool.default(true),
  /** Request body limit, compressed and decompressed. */
  OTLP_MAX_BODY_BYTES: int(16 * 1_048_576, 1024, 256 * 1_048_576),
  /** Non-LLM spans (no gen_ai.* / llm.* attributes) of the same traces: dropped, or kept as operation "span". */
  OTLP_NON_LLM_SPANS: z.enum(['drop', 'keep']).default('drop'),
  /** input/output beyond this many characters are cut (metadata.truncated records the original length). */
  OTLP_MAX_CONTENT_CHARS: int(32_768, 256, 10_000_000),
  /** Spans that started longer ago are refused (the 1-minute rollup recomputes 3 h back). */
  OTLP_MAX_SPAN_AGE_MINUTES: int(170, 1, 170),
  OTLP_MAX_SPAN_FUTURE_MINUTES: int(10, 0, 1440),
  /** Bounds of the write queue; beyond them requests get 429 with Retry-After. */
  OTLP_QUEUE_MAX_SPANS: int(50_000, 100),
  OTLP_QUEUE_MAX_BYTES: int(128 * 1_048_576, 1_048_576),
  /** Rows per INSERT statement (whole requests are never split). */
  OTLP_BATCH_MAX_SPANS: int(4096, 1, 100_000),
  /** Statements in flight at once (server modes; the embedded database has one connection). */
  OTLP_WRITERS: int(2, 1, 64),
  REDIS_URL: redisUrl.optional(),
  /** Consecutive Redis command timeouts that open the circuit breaker (limits and cache then skip Redis at once). */
  REDIS_BREAKER_THRESHOLD: int(3, 1, 1000),
  /** While the breaker is open, Redis is PINGed this often; the first answer closes it. */
  REDIS_BREAKER_PROBE_INTERVAL_MS: int(1000, 50, 60_000),
  /** Prepended to every Redis key of this gateway (separate deployments or tests sharing one Redis). */
  REDIS_KEY_PREFIX: z.string().max(64).regex(/^[A-Za-z0-9:_-]*$/, 'letters, digits, colon, underscore, dash').default(''),
  MAX_BODY_BYTES: int(1_048_576, 1024),
  /** Nesting of the request body (variables, extensions) refused past this, before anything walks it. */
  MAX_VARIABLES_DEPTH: int(32, 4, 1000),
  /** Bytes of request line + headers; over it: JSON 431. Node's default (16 KiB). */
  MAX_HEADER_BYTES: int(16_384, 4096, 1_048_576),
  /** The bundled GraphiQL at /playground (and GET /graphql for browsers); off: both answer as before. */
  PLAYGROUND_ENABLED: bool.default(true),
  SHUTDOWN_TIMEOUT_MS: int(10000, 0),
  /** After SIGTERM, readiness answers 503 this long before the listener closes (load balancers drain). */
  SHUTDOWN_DRAIN_DELAY_MS: int(0, 0, 120_000),
  HEALTH_CHECK_TIMEOUT_MS: int(1000, 50, 30_000),
  METRICS_ENABLED: bool.default(true),
  /** Serve /metrics on its own port instead of the public one (0 picks a free port). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** /metrics on the public port asks for `Authorization: Bearer <this>` (needed there unless HOST is loopback). */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Statements slower than this are logged with their name; 0 turns the log off. */
  SLOW_QUERY_MS: int(500, 0),
  ACCESS_LOG_LEVEL: z.enum(['info', 'debug', 'silent']).default('debug'),
  // The OpenTelemetry SDK reads the OTEL_* variables itself; these few are read here only to
  // decide whether anything is exported at all and to validate them with the rest.
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_SERVICE_NAME: z.string().min(1).default('analytics-gateway'),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_TRACES_EXPORTER: z.string().min(1).optional(),
  /** Put the GraphQL document text on operation spans (off: documents may carry literals). */
  GRAPHQL_TRACE_DOCUMENT: bool.default(false),
  // Identity: JWTs (HS256 secret or a JWKS URL) besides API keys; claim names are configurable.
  JWT_SECRET: z.string().min(32, 'at least 32 characters for HS256').optional(),
  JWT_JWKS_URL: httpUrl.optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_ORG_CLAIM: z.string().min(1).default('org_id'),
  JWT_ROLE_CLAIM: z.string().min(1).default('role'),
  JWT_PROJECTS_CLAIM: z.string().min(1).default('project_ids'),
  /** How long a credential lookup is memoised: a revoked API key stops working within this. */
  AUTH_CACHE_TTL_MS: int(30_000, 0, 600_000),
  /**
   * While the database cannot be reached (or its pool is exhausted), an API key seen within this
   * long is still honoured from its expired memo, so fully cached requests keep being answered;
   * 0 turns it off. A key revoked during an outage cannot be read anyway; bounded on purpose.
   */
  AUTH_STALE_IF_ERROR_MS: int(300_000, 0, 3_600_000),
  // Rate limiting by cost (points per minute per role, with burst capacity).
  RATE_LIMIT_ENABLED: bool.default(true),
  RATE_LIMIT_ADMIN_PER_MINUTE: int(100_000, 1),
  RATE_LIMIT_ADMIN_BURST: int(120_000, 1),
  RATE_LIMIT_DEVELOPER_PER_MINUTE: int(10_000, 1),
  RATE_LIMIT_DEVELOPER_BURST: int(12_000, 1),
  RATE_LIMIT_VIEWER_PER_MINUTE: int(1_000, 1),
  RATE_LIMIT_VIEWER_BURST: int(1_200, 1),
  RATE_LIMIT_BILLING_PER_MINUTE: int(1_000, 1),
  RATE_LIMIT_BILLING_BURST: int(1_200, 1),
  RATE_LIMIT_INGEST_PER_MINUTE: int(100, 1),
  RATE_LIMIT_INGEST_BURST: int(120, 1),
  /** Per-user per-minute limits of single root fields, e.g. "searchTraces=100,exportTraces=10". */
  RATE_LIMIT_FIELD_LIMITS: z
    .string()
    .regex(/^\s*([A-Za-z_][A-Za-z0-9_]*=\d+\s*(,\s*|$))*$/, 'like "searchTraces=100,exportTraces=10"')
    .default('searchTraces=100,exportTraces=10,compareModels=50'),
  MAX_COST_PER_OPERATION: int(50_000, 1),
  MAX_QUERY_DEPTH: int(15, 1, 1000),
  MAX_QUERY_ALIASES: int(30, 0, 10_000),
  MAX_QUERY_TOKENS: int(5_000, 10, 1_000_000),
  MAX_QUERY_DIRECTIVES: int(50, 0, 10_000),
  /** draft-10: `RateLimit-Policy: "default";q=…;w=60`, `RateLimit: "default";r=…;t=…`; draft-07: the older `limit=…, remaining=…, reset=…`. */
  RATE_LIMIT_HEADERS: z.enum(['draft-10', 'draft-07']).default('draft-10'),
  /** Compiled operations kept (plan, price and cache keys per document, variables and viewer scope). */
  OPERATION_CACHE_MAX_ENTRIES: int(2000, 0, 1_000_000),
  // Per-field cache (src/cache) and persisted queries (src/persisted-queries).
  CACHE_ENABLED: bool.default(true),
  /** TTL overrides in seconds per root field, e.g. "traces=30,trace=300"; 0 turns a field's caching off. */
  CACHE_TTLS: z
    .string()
    .regex(/^\s*([A-Za-z_][A-Za-z0-9_]*=\d+\s*(,\s*|$))*$/, 'like "traces=30,trace=300"')
    .default(''),
  /** Encoded entries above this are not stored (the field is answered, just not cached). */
  CACHE_MAX_ENTRY_BYTES: int(1_048_576, 256),
  /** Entries whose JSON is larger than this are stored brotli-compressed. */
  CACHE_COMPRESS_MIN_BYTES: int(4096, 0),
  /** Bound of the in-memory store used when REDIS_URL is not set. */
  CACHE_MEMORY_MAX_BYTES: int(64 * 1_048_576, 1024),
  /** A Redis cache command slower than this counts as a miss (the database answers). */
  CACHE_REDIS_TIMEOUT_MS: int(250, 1, 10_000),
  /** Per-instance copies of Redis entries (L1), kept coherent by an invalidation channel; 0 = off. */
  CACHE_L1_MAX_BYTES: int(32 * 1_048_576, 0),
  /** Concurrent misses of one key wait at most this long for the first fill. */
  CACHE_FILL_WAIT_MS: int(30_000, 0, 300_000),
  CACHE_WARM_ON_START: bool.default(true),
  PERSISTED_QUERIES_ENABLED: bool.default(true),
  PERSISTED_QUERIES_TTL_S: int(86_400, 0),
  /** An Apollo persisted query manifest; when set, only its operations are accepted. */
  PERSISTED_QUERIES_SAFELIST: z.string().min(1).optional(),
  // Trace exports (src/modules/exports): jobs on pg-boss in the same database.
  /** Off: this instance runs no export worker (it still accepts and serves exports). */
  EXPORT_WORKER_ENABLED: bool.default(true),
  /** Exports this instance runs at once; the embedded database (one connection) always runs 1. */
  EXPORT_CONCURRENCY: int(2, 1, 32),
  /** An export whose filter matches more rows is refused up front (EXPORT_TOO_LARGE). */
  EXPORT_MAX_ROWS: int(5_000_000, 1),
  /** PENDING or RUNNING exports one org may have at once (TOO_MANY_EXPORTS beyond). */
  EXPORT_MAX_CONCURRENT_PER_ORG: int(3, 1, 1000),
  /** Rows per keyset batch read from the database. */
  EXPORT_BATCH_ROWS: int(10_000, 100, 100_000),
  /** Server modes, CSV and JSONL: rows per COPY chunk (progress, cancel and resume points). */
  EXPORT_COPY_BATCH_ROWS: int(100_000, 100, 1_000_000),
  /** Server modes, CSV and JSONL: COPY chunks rendered at once per export, each on its own connection. */
  EXPORT_COPY_PARALLEL: int(2, 1, 8),
  /** Statement timeout of each batch read (and of the up-front count). */
  EXPORT_BATCH_TIMEOUT_MS: int(30_000, 100),
  /** Retries after a failed attempt (exponential backoff from EXPORT_RETRY_DELAY_S). */
  EXPORT_RETRY_LIMIT: int(3, 0, 20),
  EXPORT_RETRY_DELAY_S: int(5, 1, 3600),
  /** An attempt running longer than this is stopped and retried. */
  EXPORT_JOB_TIMEOUT_S: int(3600, 10, 86_400),
  /** A RUNNING export whose worker has not reported for this long (a killed gateway) is restarted. */
  EXPORT_STALL_TIMEOUT_MS: int(60_000, 1000, 3_600_000),
  /** Finished files are deleted this long after they were completed. */
  EXPORT_TTL_HOURS: int(24, 1, 24 * 90),
  /** Lifetime of a signed download URL. */
  EXPORT_URL_TTL_S: int(900, 10, 7 * 86_400),
  /** HMAC key of signed download URLs; unset: a random key kept in the database (shared by every instance). */
  EXPORT_SIGNING_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  EXPORT_STORAGE: z.enum(['local', 's3']).default('local'),
  /** Local storage folder (default DATA_DIR/exports). */
  EXPORT_DIR: z.string().min(1).optional(),
  EXPORT_S3_BUCKET: z.string().min(3).optional(),
  EXPORT_S3_REGION: z.string().min(1).default('us-east-1'),
  /** An S3-compatible endpoint (MinIO, Ceph, R2…); unset: AWS. */
  EXPORT_S3_ENDPOINT: httpUrl.optional(),
  EXPORT_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  EXPORT_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  EXPORT_S3_FORCE_PATH_STYLE: bool.default(false),
  /** Key prefix of export objects in the bucket. */
  EXPORT_S3_PREFIX: z.string().max(200).regex(/^[A-Za-z0-9/_.-]*$/, 'letters, digits, / _ . -').default('exports/'),
});

export type Env = z.infer<typeof EnvSchema>;
/** Every variable this file reads (deployment files are checked against it). */
export const ENV_VARIABLES: readonly string[] = Object.freeze(Object.keys(EnvSchema.shape));

export interface Config {
  readonly env: Env['NODE_ENV'];
  readonly isProduction: boolean;
  readonly host: string;
  readonly port: number;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly dataDir: string;
  readonly database: {
    readonly mode: Env['DATABASE_MODE'];
    /** Without DATABASE_URL: the embedded database was asked for (DATABASE_MODE=embedded), not fallen back to. */
    readonly embeddedChosen: boolean;
    readonly url?: string;
    readonly readonlyUrl?: string;
    readonly pool: {
      readonly max: number;
      readonly min: number;
      readonly acquireTimeoutMs: number;
      readonly idleTimeoutMs: number;
      readonly maxLifetimeSeconds: number;
    };
    readonly statementTimeoutMs: { readonly simple: number; readonly aggregate: number };
    readonly rollupRefreshIntervalMs: number;
    readonly retentionDays: number;
    /** Plain PostgreSQL: the search indexer's pause and batch (src/db/search-indexer.ts). */
    readonly searchIndex: { readonly intervalMs: number; readonly batchRows: number };
    readonly embedded: { readonly wasmOptimize: boolean; readonly workerYoungMb: number; readonly sharedBuffersMb: number };
  };
  readonly analytics: { readonly maxSeriesPoints: number; readonly exactPercentilesMaxMs: number; readonly useRollups: boolean };
  readonly demo: { readonly enabled: boolean; readonly traces: number; readonly days: number; readonly live: boolean; readonly livePerSecond: number };
  readonly ingest: {
    readonly enabled: boolean;
    readonly maxBodyBytes: number;
    readonly nonLlmSpans: 'drop' | 'keep';
    readonly maxContentChars: number;
    readonly maxAgeMs: number;
    readonly maxFutureMs: number;
    readonly queueMaxSpans: number;
    readonly queueMaxBytes: number;
    readonly batchMaxSpans: number;
    readonly writers: number;
  };
  readonly redisUrl?: string;
  readonly redisKeyPrefix: string;
  readonly redisBreaker: { readonly threshold: number; readonly probeIntervalMs: number };
  readonly cache: {
    readonly enabled: boolean;
    /** Root field name → TTL seconds, overriding the SDL's @cacheControl(maxAge). */
    readonly ttlOverrides: Readonly<Record<string, number>>;
    readonly maxEntryBytes: number;
    readonly compressMinBytes: number;
    readonly memoryMaxBytes: number;
    readonly redisTimeoutMs: number;
    /** Bytes of per-instance copies in front of Redis (0: none). */
    readonly l1MaxBytes: number;
    readonly fillWaitMs: number;
    readonly warmOnStart: boolean;
  };
  readonly persistedQueries: { readonly enabled: boolean; readonly ttlSeconds: number; readonly safelistPath?: string };
  readonly http: {
    readonly maxBodyBytes: number;
    readonly maxVariablesDepth: number;
    readonly maxHeaderBytes: number;
    readonly shutdownTimeoutMs: number;
    readonly drainDelayMs: number;
  };
  readonly playground: { readonly enabled: boolean };
  readonly telemetry: {
    readonly metrics: {
      readonly enabled: boolean;
      readonly port?: number;
      readonly token?: string;
      /** /metrics answers on the public port: with a token, or without one only on a loopback HOST. */
      readonly onPublicPort: 'open' | 'token' | 'off';
    };
    readonly tracing: {
      readonly enabled: boolean;
      readonly serviceName: string;
      /** An OTLP endpoint or OTEL_TRACES_EXPORTER was given; without one nothing leaves the process. */
      readonly exportConfigured: boolean;
      readonly includeDocument: boolean;
    };
    readonly slowQueryMs: number;
    readonly accessLogLevel: Env['ACCESS_LOG_LEVEL'];
    readonly healthCheckTimeoutMs: number;
  };
  readonly auth: {
    readonly cacheTtlMs: number;
    /** How long past its memo an API key is honoured while the database cannot answer (0: never). */
    readonly staleIfErrorMs: number;
    /** Absent: only API keys are accepted. */
    readonly jwt?: {
      readonly secret?: string;
      readonly jwksUrl?: string;
      readonly issuer?: string;
      readonly audience?: string;
      readonly claims: { readonly org: string; readonly role: string; readonly projects: string };
    };
  };
  readonly limits: {
    readonly enabled: boolean;
    /** Points per minute and burst capacity per role. */
    readonly budgets: Readonly<Record<'ADMIN' | 'DEVELOPER' | 'VIEWER' | 'BILLING' | 'INGEST', { readonly perMinute: number; readonly burst: number }>>;
    /** Root field name → calls per user per minute. */
    readonly fieldLimits: Readonly<Record<string, number>>;
    readonly maxCostPerOperation: number;
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxTokens: number;
    readonly maxDirectives: number;
    readonly headerFormat: Env['RATE_LIMIT_HEADERS'];
  };
  /** Compiled operations kept per instance. */
  readonly operationCacheMaxEntries: number;
  readonly exports: ExportConfig;
}

export interface ExportConfig {
  readonly workerEnabled: boolean;
  readonly concurrency: number;
  readonly maxRows: number;
  readonly maxConcurrentPerOrg: number;
  readonly batchRows: number;
  /** Server modes, CSV and JSONL: rows per COPY chunk. */
  readonly copyBatchRows: number;
  readonly copyParallel: number;
  readonly batchTimeoutMs: number;
  readonly retryLimit: number;
  readonly retryDelaySeconds: number;
  readonly jobTimeoutSeconds: number;
  readonly stallTimeoutMs: number;
  readonly ttlMs: number;
  readonly urlTtlSeconds: number;
  readonly signingSecret?: string;
  readonly storage:
    | { readonly kind: 'local'; readonly dir: string }
    | {
        readonly kind: 's3';
        readonly bucket: string;
        readonly region: string;
        readonly endpoint?: string;
        readonly accessKeyId?: string;
        readonly secretAccessKey?: string;
        readonly forcePathStyle: boolean;
        readonly prefix: string;
      };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** "a=1, b=2" → { a: 1, b: 2 } (the format is checked by the schema above). */
function parseFieldNumbers(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const [name, value] = part.split('=').map((x) => x.trim());
    if (name && value !== undefined) out[name] = Number(value);
  }
  return out;
}

/** Only this machine can reach a listener on these. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Parses an environment (process.env by default); throws ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as they do in most deployment tools.
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.DATABASE_MODE === 'embedded' && e.DATABASE_URL) {
    problems.push('DATABASE_MODE: embedded mode takes no DATABASE_URL (unset one of them)');
  }
  if ((e.DATABASE_MODE === 'timescale' || e.DATABASE_MODE === 'postgres') && !e.DATABASE_URL) {
    problems.push(`DATABASE_URL: required when DATABASE_MODE=${e.DATABASE_MODE}`);
  }
  if (e.DATABASE_READONLY_URL && !e.DATABASE_URL) {
    problems.push('DATABASE_READONLY_URL: needs DATABASE_URL for the primary');
  }
  if (e.DB_POOL_MIN > e.DB_POOL_MAX) {
    problems.push(`DB_POOL_MIN: ${e.DB_POOL_MIN} is above DB_POOL_MAX ${e.DB_POOL_MAX}`);
  }
  if (e.JWT_SECRET && e.JWT_JWKS_URL) {
    problems.push('JWT_SECRET: give either JWT_SECRET (HS256) or JWT_JWKS_URL, not both');
  }
  for (const role of ['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING', 'INGEST'] as const) {
    if (e[`RATE_LIMIT_${role}_BURST`] < e[`RATE_LIMIT_${role}_PER_MINUTE`]) {
      problems.push(`RATE_LIMIT_${role}_BURST: ${e[`RATE_LIMIT_${role}_BURST`]} is below RATE_LIMIT_${role}_PER_MINUTE ${e[`RATE_LIMIT_${role}_PER_MINUTE`]}`);
    }
  }
  if (e.EXPORT_STORAGE === 's3' && !e.EXPORT_S3_BUCKET) problems.push('EXPORT_S3_BUCKET: required when EXPORT_STORAGE=s3');
  if (Boolean(e.EXPORT_S3_ACCESS_KEY_ID) !== Boolean(e.EXPORT_S3_SECRET_ACCESS_KEY)) {
    problems.push('EXPORT_S3_ACCESS_KEY_ID: give both EXPORT_S3_ACCESS_KEY_ID and EXPORT_S3_SECRET_ACCESS_KEY, or neither (the SDK\'s default chain)');
  }
  // A batch that is still running must not look like a dead worker.
  if (e.EXPORT_STALL_TIMEOUT_MS <= e.EXPORT_BATCH_TIMEOUT_MS) {
    problems.push(`EXPORT_STALL_TIMEOUT_MS: ${e.EXPORT_STALL_TIMEOUT_MS} must be above EXPORT_BATCH_TIMEOUT_MS ${e.EXPORT_BATCH_TIMEOUT_MS}`);
  }
  if (problems.length) throw new ConfigError(problems);

  const host = e.HOST ?? (e.DATABASE_URL ? '0.0.0.0' : '127.0.0.1');
  return deepFreeze({
    env: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    host,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    database: {
      mode: e.DATABASE_MODE,
      embeddedChosen: e.DATABASE_MODE === 'embedded',
      url: e.DATABASE_URL,
      readonlyUrl: e.DATABASE_READONLY_URL,
      pool: {
        max: e.DB_POOL_MAX,
        min: e.DB_POOL_MIN,
        acquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS,
        idleTimeoutMs: e.DB_IDLE_TIMEOUT_MS,
        maxLifetimeSeconds: e.DB_MAX_LIFETIME_S,
      },
      statementTimeoutMs: {
        simple: e.STATEMENT_TIMEOUT_SIMPLE_MS,
        aggregate: e.STATEMENT_TIMEOUT_AGGREGATE_MS,
      },
      rollupRefreshIntervalMs: e.ROLLUP_REFRESH_INTERVAL_MS,
      retentionDays: e.RETENTION_DAYS,
      searchIndex: { intervalMs: e.SEARCH_INDEX_INTERVAL_MS, batchRows: e.SEARCH_INDEX_BATCH_ROWS },
      embedded: { wasmOptimize: e.EMBEDDED_WASM_OPTIMIZE, workerYoungMb: e.EMBEDDED_WORKER_YOUNG_MB, sharedBuffersMb: e.EMBEDDED_SHARED_BUFFERS_MB },
    },
    analytics: { maxSeriesPoints: e.MAX_SERIES_POINTS, exactPercentilesMaxMs: e.EXACT_PERCENTILES_MAX_HOURS * 3_600_000, useRollups: e.ANALYTICS_USE_ROLLUPS },
    demo: { enabled: e.DEMO_DATA ?? e.NODE_ENV !== 'production', traces: e.DEMO_TRACES, days: e.DEMO_DAYS, live: e.DEMO_LIVE, livePerSecond: e.DEMO_LIVE_PER_SECOND },
    ingest: {
      enabled: e.OTLP_ENABLED,
      maxBodyBytes: e.OTLP_MAX_BODY_BYTES,
      nonLlmSpans: e.OTLP_NON_LLM_SPANS,
      maxContentChars: e.OTLP_MAX_CONTENT_CHARS,
      maxAgeMs: e.OTLP_MAX_SPAN_AGE_MINUTES * 60_000,
      maxFutureMs: e.OTLP_MAX_SPAN_FUTURE_MINUTES * 60_000,
      queueMaxSpans: e.OTLP_QUEUE_MAX_SPANS,
      queueMaxBytes: e.OTLP_QUEUE_MAX_BYTES,
      batchMaxSpans: e.OTLP_BATCH_MAX_SPANS,
      writers: e.OTLP_WRITERS,
    },
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisBreaker: { threshold: e.REDIS_BREAKER_THRESHOLD, probeIntervalMs: e.REDIS_BREAKER_PROBE_INTERVAL_MS },
    cache: {
      enabled: e.CACHE_ENABLED,
      ttlOverrides: parseFieldNumbers(e.CACHE_TTLS),
      maxEntryBytes: e.CACHE_MAX_ENTRY_BYTES,
      compressMinBytes: e.CACHE_COMPRESS_MIN_BYTES,
      memoryMaxBytes: e.CACHE_MEMORY_MAX_BYTES,
      redisTimeoutMs: e.CACHE_REDIS_TIMEOUT_MS,
      l1MaxBytes: e.CACHE_L1_MAX_BYTES,
      fillWaitMs: e.CACHE_FILL_WAIT_MS,
      warmOnStart: e.CACHE_WARM_ON_START,
    },
    persistedQueries: { enabled: e.PERSISTED_QUERIES_ENABLED, ttlSeconds: e.PERSISTED_QUERIES_TTL_S, safelistPath: e.PERSISTED_QUERIES_SAFELIST },
    http: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      maxVariablesDepth: e.MAX_VARIABLES_DEPTH,
      maxHeaderBytes: e.MAX_HEADER_BYTES,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS, drainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS },
    playground: { enabled: e.PLAYGROUND_ENABLED },
    telemetry: {
      metrics: {
        enabled: e.METRICS_ENABLED,
        port: e.METRICS_PORT,
        token: e.METRICS_TOKEN,
        onPublicPort: e.METRICS_PORT !== undefined ? 'off' : e.METRICS_TOKEN ? 'token' : isLoopback(host) ? 'open' : 'off',
      },
      tracing: {
        enabled: !e.OTEL_SDK_DISABLED,
        serviceName: e.OTEL_SERVICE_NAME,
        exportConfigured: Boolean(e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || e.OTEL_TRACES_EXPORTER),
        includeDocument: e.GRAPHQL_TRACE_DOCUMENT,
      },
      slowQueryMs: e.SLOW_QUERY_MS,
      accessLogLevel: e.ACCESS_LOG_LEVEL,
      healthCheckTimeoutMs: e.HEALTH_CHECK_TIMEOUT_MS,
    },
    auth: {
      cacheTtlMs: e.AUTH_CACHE_TTL_MS,
      staleIfErrorMs: e.AUTH_STALE_IF_ERROR_MS,
      jwt:
        e.JWT_SECRET || e.JWT_JWKS_URL
          ? {
              secret: e.JWT_SECRET,
              jwksUrl: e.JWT_JWKS_URL,
              issuer: e.JWT_ISSUER,
              audience: e.JWT_AUDIENCE,
              claims: { org: e.JWT_ORG_CLAIM, role: e.JWT_ROLE_CLAIM, projects: e.JWT_PROJECTS_CLAIM },
            }
          : undefined,
    },
    limits: {
      enabled: e.RATE_LIMIT_ENABLED,
      budgets: {
        ADMIN: { perMinute: e.RATE_LIMIT_ADMIN_PER_MINUTE, burst: e.RATE_LIMIT_ADMIN_BURST },
        DEVELOPER: { perMinute: e.RATE_LIMIT_DEVELOPER_PER_MINUTE, burst: e.RATE_LIMIT_DEVELOPER_BURST },
        VIEWER: { perMinute: e.RATE_LIMIT_VIEWER_PER_MINUTE, burst: e.RATE_LIMIT_VIEWER_BURST },
        BILLING: { perMinute: e.RATE_LIMIT_BILLING_PER_MINUTE, burst: e.RATE_LIMIT_BILLING_BURST },
        INGEST: { perMinute: e.RATE_LIMIT_INGEST_PER_MINUTE, burst: e.RATE_LIMIT_INGEST_BURST },
      },
      fieldLimits: Object.fromEntries(
        e.RATE_LIMIT_FIELD_LIMITS.split(',')
          .map((p) => p.trim())
          .filter(Boolean)
          .map((p) => {
            const [name, n] = p.split('=');
            return [name!.trim(), Number(n)];
          }),
      ),
      maxCostPerOperation: e.MAX_COST_PER_OPERATION,
      maxDepth: e.MAX_QUERY_DEPTH,
      maxAliases: e.MAX_QUERY_ALIASES,
      maxTokens: e.MAX_QUERY_TOKENS,
      maxDirectives: e.MAX_QUERY_DIRECTIVES,
      headerFormat: e.RATE_LIMIT_HEADERS,
    },
    operationCacheMaxEntries: e.OPERATION_CACHE_MAX_ENTRIES,
    exports: {
      workerEnabled: e.EXPORT_WORKER_ENABLED,
      concurrency: e.EXPORT_CONCURRENCY,
      maxRows: e.EXPORT_MAX_ROWS,
      maxConcurrentPerOrg: e.EXPORT_MAX_CONCURRENT_PER_ORG,
      batchRows: e.EXPORT_BATCH_ROWS,
      copyBatchRows: e.EXPORT_COPY_BATCH_ROWS,
      copyParallel: e.EXPORT_COPY_PARALLEL,
      batchTimeoutMs: e.EXPORT_BATCH_TIMEOUT_MS,
      retryLimit: e.EXPORT_RETRY_LIMIT,
      retryDelaySeconds: e.EXPORT_RETRY_DELAY_S,
      jobTimeoutSeconds: e.EXPORT_JOB_TIMEOUT_S,
      stallTimeoutMs: e.EXPORT_STALL_TIMEOUT_MS,
      ttlMs: e.EXPORT_TTL_HOURS * 3_600_000,
      urlTtlSeconds: e.EXPORT_URL_TTL_S,
      signingSecret: e.EXPORT_SIGNING_SECRET,
      storage:
        e.EXPORT_STORAGE === 's3'
          ? {
              kind: 's3' as const,
              bucket: e.EXPORT_S3_BUCKET as string,
              region: e.EXPORT_S3_REGION,
              endpoint: e.EXPORT_S3_ENDPOINT,
              accessKeyId: e.EXPORT_S3_ACCESS_KEY_ID,
              secretAccessKey: e.EXPORT_S3_SECRET_ACCESS_KEY,
              forcePathStyle: e.EXPORT_S3_FORCE_PATH_STYLE,
              prefix: e.EXPORT_S3_PREFIX,
            }
          : { kind: 'local' as const, dir: e.EXPORT_DIR ?? `${e.DATA_DIR.replace(/\/+$/, '')}/exports` },
    },
  });
}
