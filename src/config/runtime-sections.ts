import { z } from 'zod';
import { bool, httpUrl, int, isLoopback, listenHost, peek, postgresUrl, problem, redisUrl } from './values';

/** Runtime sections: the process, its database and Redis, HTTP, telemetry, demo data, ingestion. */

export const serverSection = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    /** Default: 127.0.0.1 for the embedded database (a demo on this machine), 0.0.0.0 with DATABASE_URL. */
    HOST: z.string().min(1).optional(),
    PORT: int(4000, 0, 65535),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATA_DIR: z.string().min(1).default('./.data'),
    DATABASE_URL: peek,
  })
  .transform((e) => ({
    env: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    host: listenHost(e),
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
  }));

export const databaseSection = z
  .object({
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
    /** Server modes: a read's settings and statements in one pipelined round trip (src/db/read-batch.ts). */
    DB_READ_BATCH: bool.default(true),
    /** Read batches: statements over rollups each connection keeps prepared (0: none; ~0.4 MB of server memory each; src/db/read-batch.ts). */
    DB_PREPARED_STATEMENTS_MAX: int(32, 0, 10000),
    /** How those statements are planned (PostgreSQL's plan_cache_mode, set for them only): once per connection by default. */
    DB_PREPARED_PLAN_CACHE_MODE: z.enum(['force_generic_plan', 'auto', 'force_custom_plan']).default('force_generic_plan'),
    ROLLUP_REFRESH_INTERVAL_MS: int(60000, 0),
    RETENTION_DAYS: int(90, 1),
    SEARCH_INDEX_INTERVAL_MS: int(1000, 0),
    SEARCH_INDEX_BATCH_ROWS: int(20000, 1),
  })
  .superRefine((e, ctx) => {
    if (e.DATABASE_MODE === 'embedded' && e.DATABASE_URL) problem(ctx, 'DATABASE_MODE', 'embedded mode takes no DATABASE_URL (unset one of them)');
    if ((e.DATABASE_MODE === 'timescale' || e.DATABASE_MODE === 'postgres') && !e.DATABASE_URL) problem(ctx, 'DATABASE_URL', `required when DATABASE_MODE=${e.DATABASE_MODE}`);
    if (e.DATABASE_READONLY_URL && !e.DATABASE_URL) problem(ctx, 'DATABASE_READONLY_URL', 'needs DATABASE_URL for the primary');
    if (e.DB_POOL_MIN > e.DB_POOL_MAX) problem(ctx, 'DB_POOL_MIN', `${e.DB_POOL_MIN} is above DB_POOL_MAX ${e.DB_POOL_MAX}`);
  })
  .transform((e) => ({
    mode: e.DATABASE_MODE,
    /** Without DATABASE_URL: the embedded database was asked for (DATABASE_MODE=embedded), not fallen back to. */
    embeddedChosen: e.DATABASE_MODE === 'embedded',
    url: e.DATABASE_URL,
    readonlyUrl: e.DATABASE_READONLY_URL,
    pool: { max: e.DB_POOL_MAX, min: e.DB_POOL_MIN, acquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS, idleTimeoutMs: e.DB_IDLE_TIMEOUT_MS, maxLifetimeSeconds: e.DB_MAX_LIFETIME_S },
    statementTimeoutMs: { simple: e.STATEMENT_TIMEOUT_SIMPLE_MS, aggregate: e.STATEMENT_TIMEOUT_AGGREGATE_MS },
    readBatch: e.DB_READ_BATCH,
    preparedStatementsMax: e.DB_PREPARED_STATEMENTS_MAX,
    preparedPlanCacheMode: e.DB_PREPARED_PLAN_CACHE_MODE,
    rollupRefreshIntervalMs: e.ROLLUP_REFRESH_INTERVAL_MS,
    retentionDays: e.RETENTION_DAYS,
    /** Plain PostgreSQL: the search indexer's pause and batch (src/db/search-indexer.ts). */
    searchIndex: { intervalMs: e.SEARCH_INDEX_INTERVAL_MS, batchRows: e.SEARCH_INDEX_BATCH_ROWS },
    embedded: { wasmOptimize: e.EMBEDDED_WASM_OPTIMIZE, workerYoungMb: e.EMBEDDED_WORKER_YOUNG_MB, sharedBuffersMb: e.EMBEDDED_SHARED_BUFFERS_MB },
  }));

export const analyticsSection = z
  .object({
    MAX_SERIES_POINTS: int(1000, 10, 100000),
    /** Ranges up to this many hours get exact percentiles from raw rows; longer ones merge rollup histograms. */
    EXACT_PERCENTILES_MAX_HOURS: int(6, 0, 24 * 90),
    /** Off: every aggregation reads raw traces (diagnosing rollups; the raw-vs-rollup benchmark). */
    ANALYTICS_USE_ROLLUPS: bool.default(true),
  })
  .transform((e) => ({ maxSeriesPoints: e.MAX_SERIES_POINTS, exactPercentilesMaxMs: e.EXACT_PERCENTILES_MAX_HOURS * 3_600_000, useRollups: e.ANALYTICS_USE_ROLLUPS }));

export const demoSection = z
  .object({
    /** Default: on, except with NODE_ENV=production (demo keys are printed). */
    DEMO_DATA: bool.optional(),
    DEMO_TRACES: int(60000, 0, 2_000_000),
    DEMO_DAYS: int(14, 1, 90),
    /** With demo data: a generator sends a few synthetic calls per second through POST /v1/traces. */
    DEMO_LIVE: bool.default(true),
    DEMO_LIVE_PER_SECOND: int(3, 1, 1000),
    NODE_ENV: peek,
  })
  .transform((e) => ({ enabled: e.DEMO_DATA ?? e.NODE_ENV !== 'production', traces: e.DEMO_TRACES, days: e.DEMO_DAYS, live: e.DEMO_LIVE, livePerSecond: e.DEMO_LIVE_PER_SECOND }));

// OTLP/HTTP ingestion (POST /v1/traces, src/ingest).
export const ingestSection = z
  .object({
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
  })
  .transform((e) => ({
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
  }));

export const redisSection = z
  .object({
    REDIS_URL: redisUrl.optional(),
    /** Consecutive Redis command timeouts that open the circuit breaker (limits and cache then skip Redis at once). */
    REDIS_BREAKER_THRESHOLD: int(3, 1, 1000),
    /** While the breaker is open, Redis is PINGed this often; the first answer closes it. */
    REDIS_BREAKER_PROBE_INTERVAL_MS: int(1000, 50, 60_000),
    /** Prepended to every Redis key of this gateway (separate deployments or tests sharing one Redis). */
    REDIS_KEY_PREFIX: z.string().max(64).regex(/^[A-Za-z0-9:_-]*$/, 'letters, digits, colon, underscore, dash').default(''),
  })
  .transform((e) => ({
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redisBreaker: { threshold: e.REDIS_BREAKER_THRESHOLD, probeIntervalMs: e.REDIS_BREAKER_PROBE_INTERVAL_MS },
  }));

export const httpSection = z
  .object({
    MAX_BODY_BYTES: int(1_048_576, 1024),
    /** Nesting of the request body (variables, extensions) refused past this, before anything walks it. */
    MAX_VARIABLES_DEPTH: int(32, 4, 1000),
    /** Bytes of request line + headers; over it: JSON 431. Node's default (16 KiB). */
    MAX_HEADER_BYTES: int(16_384, 4096, 1_048_576),
    SHUTDOWN_TIMEOUT_MS: int(10000, 0),
    /** After SIGTERM, readiness answers 503 this long before the listener closes (load balancers drain). */
    SHUTDOWN_DRAIN_DELAY_MS: int(0, 0, 120_000),
  })
  .transform((e) => ({
    maxBodyBytes: e.MAX_BODY_BYTES,
    maxVariablesDepth: e.MAX_VARIABLES_DEPTH,
    maxHeaderBytes: e.MAX_HEADER_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    drainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS,
  }));

export const playgroundSection = z
  .object({
    /** The bundled GraphiQL at /playground (and GET /graphql for browsers); off: both answer as before. */
    PLAYGROUND_ENABLED: bool.default(true),
  })
  .transform((e) => ({ enabled: e.PLAYGROUND_ENABLED }));

export const telemetrySection = z
  .object({
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
    HOST: peek,
    DATABASE_URL: peek,
  })
  .transform((e) => ({
    metrics: {
      enabled: e.METRICS_ENABLED,
      port: e.METRICS_PORT,
      token: e.METRICS_TOKEN,
      /** /metrics answers on the public port: with a token, or without one only on a loopback HOST. */
      onPublicPort: (e.METRICS_PORT !== undefined ? 'off' : e.METRICS_TOKEN ? 'token' : isLoopback(listenHost(e)) ? 'open' : 'off') as 'open' | 'token' | 'off',
    },
    tracing: {
      enabled: !e.OTEL_SDK_DISABLED,
      serviceName: e.OTEL_SERVICE_NAME,
      /** An OTLP endpoint or OTEL_TRACES_EXPORTER was given; without one nothing leaves the process. */
      exportConfigured: Boolean(e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || e.OTEL_TRACES_EXPORTER),
      includeDocument: e.GRAPHQL_TRACE_DOCUMENT,
    },
    slowQueryMs: e.SLOW_QUERY_MS,
    accessLogLevel: e.ACCESS_LOG_LEVEL,
    healthCheckTimeoutMs: e.HEALTH_CHECK_TIMEOUT_MS,
  }));
