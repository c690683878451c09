import { z } from 'zod';
import { bool, httpUrl, int, keyValueList, peek, problem } from './values';

/** Feature sections: identity, limits, caching, persisted queries, exports. */

// Identity: JWTs (HS256 secret or a JWKS URL) besides API keys; claim names are configurable.
export const authSection = z
  .object({
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
  })
  .superRefine((e, ctx) => {
    if (e.JWT_SECRET && e.JWT_JWKS_URL) problem(ctx, 'JWT_SECRET', 'give either JWT_SECRET (HS256) or JWT_JWKS_URL, not both');
  })
  .transform((e) => ({
    cacheTtlMs: e.AUTH_CACHE_TTL_MS,
    /** How long past its memo an API key is honoured while the database cannot answer (0: never). */
    staleIfErrorMs: e.AUTH_STALE_IF_ERROR_MS,
    /** Absent: only API keys are accepted. */
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
  }));

const ROLES = ['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING', 'INGEST'] as const;

// Rate limiting by cost (points per minute per role, with burst capacity) and document limits.
export const limitsSection = z
  .object({
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
    RATE_LIMIT_FIELD_LIMITS: keyValueList('searchTraces=100,exportTraces=10', 'searchTraces=100,exportTraces=10,compareModels=50'),
    MAX_COST_PER_OPERATION: int(50_000, 1),
    MAX_QUERY_DEPTH: int(15, 1, 1000),
    MAX_QUERY_ALIASES: int(30, 0, 10_000),
    MAX_QUERY_TOKENS: int(5_000, 10, 1_000_000),
    MAX_QUERY_DIRECTIVES: int(50, 0, 10_000),
    /** draft-10: `RateLimit-Policy: "default";q=…;w=60`, `RateLimit: "default";r=…;t=…`; draft-07: the older `limit=…, remaining=…, reset=…`. */
    RATE_LIMIT_HEADERS: z.enum(['draft-10', 'draft-07']).default('draft-10'),
  })
  .superRefine((e, ctx) => {
    for (const role of ROLES) {
      const [burst, perMinute] = [e[`RATE_LIMIT_${role}_BURST`], e[`RATE_LIMIT_${role}_PER_MINUTE`]];
      if (burst < perMinute) problem(ctx, `RATE_LIMIT_${role}_BURST`, `${burst} is below RATE_LIMIT_${role}_PER_MINUTE ${perMinute}`);
    }
  })
  .transform((e) => ({
    enabled: e.RATE_LIMIT_ENABLED,
    /** Points per minute and burst capacity per role. */
    budgets: {
      ADMIN: { perMinute: e.RATE_LIMIT_ADMIN_PER_MINUTE, burst: e.RATE_LIMIT_ADMIN_BURST },
      DEVELOPER: { perMinute: e.RATE_LIMIT_DEVELOPER_PER_MINUTE, burst: e.RATE_LIMIT_DEVELOPER_BURST },
      VIEWER: { perMinute: e.RATE_LIMIT_VIEWER_PER_MINUTE, burst: e.RATE_LIMIT_VIEWER_BURST },
      BILLING: { perMinute: e.RATE_LIMIT_BILLING_PER_MINUTE, burst: e.RATE_LIMIT_BILLING_BURST },
      INGEST: { perMinute: e.RATE_LIMIT_INGEST_PER_MINUTE, burst: e.RATE_LIMIT_INGEST_BURST },
    },
    /** Root field name → calls per user per minute. */
    fieldLimits: e.RATE_LIMIT_FIELD_LIMITS,
    maxCostPerOperation: e.MAX_COST_PER_OPERATION,
    maxDepth: e.MAX_QUERY_DEPTH,
    maxAliases: e.MAX_QUERY_ALIASES,
    maxTokens: e.MAX_QUERY_TOKENS,
    maxDirectives: e.MAX_QUERY_DIRECTIVES,
    headerFormat: e.RATE_LIMIT_HEADERS,
  }));

export const operationsSection = z
  .object({
    /** Compiled operations kept (plan, price and cache keys per document, variables and viewer scope). */
    OPERATION_CACHE_MAX_ENTRIES: int(2000, 0, 1_000_000),
  })
  .transform((e) => ({ operationCacheMaxEntries: e.OPERATION_CACHE_MAX_ENTRIES }));

// Per-field cache (src/cache).
export const cacheSection = z
  .object({
    CACHE_ENABLED: bool.default(true),
    /** TTL overrides in seconds per root field, e.g. "traces=30,trace=300"; 0 turns a field's caching off. */
    CACHE_TTLS: keyValueList('traces=30,trace=300', ''),
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
  })
  .transform((e) => ({
    enabled: e.CACHE_ENABLED,
    /** Root field name → TTL seconds, overriding the SDL's @cacheControl(maxAge). */
    ttlOverrides: e.CACHE_TTLS,
    maxEntryBytes: e.CACHE_MAX_ENTRY_BYTES,
    compressMinBytes: e.CACHE_COMPRESS_MIN_BYTES,
    memoryMaxBytes: e.CACHE_MEMORY_MAX_BYTES,
    redisTimeoutMs: e.CACHE_REDIS_TIMEOUT_MS,
    /** Bytes of per-instance copies in front of Redis (0: none). */
    l1MaxBytes: e.CACHE_L1_MAX_BYTES,
    fillWaitMs: e.CACHE_FILL_WAIT_MS,
    warmOnStart: e.CACHE_WARM_ON_START,
  }));

// Persisted queries (src/persisted-queries).
export const persistedQueriesSection = z
  .object({
    PERSISTED_QUERIES_ENABLED: bool.default(true),
    PERSISTED_QUERIES_TTL_S: int(86_400, 0),
    /** An Apollo persisted query manifest; when set, only its operations are accepted. */
    PERSISTED_QUERIES_SAFELIST: z.string().min(1).optional(),
  })
  .transform((e) => ({ enabled: e.PERSISTED_QUERIES_ENABLED, ttlSeconds: e.PERSISTED_QUERIES_TTL_S, safelistPath: e.PERSISTED_QUERIES_SAFELIST }));

// Trace exports (src/modules/exports): jobs on pg-boss in the same database.
const exportsVariables = z.object({
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
  /** Parquet: rows per keyset batch and row group (its encoding holds a whole row group in memory). */
  EXPORT_PARQUET_BATCH_ROWS: int(4_000, 100, 100_000),
  /** Server modes, CSV and JSONL: rows per COPY chunk (progress, cancel and resume points). */
  EXPORT_COPY_BATCH_ROWS: int(50_000, 100, 1_000_000),
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
  DATA_DIR: peek,
});
type ExportsVariables = z.output<typeof exportsVariables>;

function exportStorage(e: ExportsVariables) {
  if (e.EXPORT_STORAGE === 's3') {
    return {
      kind: 's3' as const,
      bucket: e.EXPORT_S3_BUCKET as string,
      region: e.EXPORT_S3_REGION,
      endpoint: e.EXPORT_S3_ENDPOINT,
      accessKeyId: e.EXPORT_S3_ACCESS_KEY_ID,
      secretAccessKey: e.EXPORT_S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.EXPORT_S3_FORCE_PATH_STYLE,
      prefix: e.EXPORT_S3_PREFIX,
    };
  }
  return { kind: 'local' as const, dir: e.EXPORT_DIR ?? `${(e.DATA_DIR ?? './.data').replace(/\/+$/, '')}/exports` };
}

export const exportsSection = exportsVariables
  .superRefine((e, ctx) => {
    if (e.EXPORT_STORAGE === 's3' && !e.EXPORT_S3_BUCKET) problem(ctx, 'EXPORT_S3_BUCKET', 'required when EXPORT_STORAGE=s3');
    if (Boolean(e.EXPORT_S3_ACCESS_KEY_ID) !== Boolean(e.EXPORT_S3_SECRET_ACCESS_KEY)) {
      problem(ctx, 'EXPORT_S3_ACCESS_KEY_ID', "give both EXPORT_S3_ACCESS_KEY_ID and EXPORT_S3_SECRET_ACCESS_KEY, or neither (the SDK's default chain)");
    }
    // A batch that is still running must not look like a dead worker.
    if (e.EXPORT_STALL_TIMEOUT_MS <= e.EXPORT_BATCH_TIMEOUT_MS) {
      problem(ctx, 'EXPORT_STALL_TIMEOUT_MS', `${e.EXPORT_STALL_TIMEOUT_MS} must be above EXPORT_BATCH_TIMEOUT_MS ${e.EXPORT_BATCH_TIMEOUT_MS}`);
    }
  })
  .transform((e) => ({
    workerEnabled: e.EXPORT_WORKER_ENABLED,
    concurrency: e.EXPORT_CONCURRENCY,
    maxRows: e.EXPORT_MAX_ROWS,
    maxConcurrentPerOrg: e.EXPORT_MAX_CONCURRENT_PER_ORG,
    batchRows: e.EXPORT_BATCH_ROWS,
    parquetBatchRows: e.EXPORT_PARQUET_BATCH_ROWS,
    /** Server modes, CSV and JSONL: rows per COPY chunk. */
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
    storage: exportStorage(e),
  }));
