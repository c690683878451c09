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
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(4000, 0, 65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./.data'),
  /** auto: embedded when DATABASE_URL is absent, otherwise detect TimescaleDB on the server. */
  DATABASE_MODE: z.enum(['auto', 'embedded', 'timescale', 'postgres']).default('auto'),
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
  MAX_SERIES_POINTS: int(1000, 10, 100000),
  /** Ranges up to this many hours get exact percentiles from raw rows; longer ones merge rollup histograms. */
  EXACT_PERCENTILES_MAX_HOURS: int(6, 0, 24 * 90),
  /** Off: every aggregation reads raw traces (diagnosing rollups; the raw-vs-rollup benchmark). */
  ANALYTICS_USE_ROLLUPS: bool.default(true),
  DEMO_DATA: bool.default(true),
  DEMO_TRACES: int(120000, 0, 2_000_000),
  DEMO_DAYS: int(14, 1, 90),
  REDIS_URL: redisUrl.optional(),
  MAX_BODY_BYTES: int(1_048_576, 1024),
  SHUTDOWN_TIMEOUT_MS: int(10000, 0),
  /** After SIGTERM, readiness answers 503 this long before the listener closes (load balancers drain). */
  SHUTDOWN_DRAIN_DELAY_MS: int(0, 0, 120_000),
  HEALTH_CHECK_TIMEOUT_MS: int(1000, 50, 30_000),
  METRICS_ENABLED: bool.default(true),
  /** Serve /metrics on its own port instead of the public one (0 picks a free port). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
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
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  readonly env: Env['NODE_ENV'];
  readonly isProduction: boolean;
  readonly host: string;
  readonly port: number;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly dataDir: string;
  readonly database: {
    readonly mode: Env['DATABASE_MODE'];
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
  };
  readonly analytics: { readonly maxSeriesPoints: number; readonly exactPercentilesMaxMs: number; readonly useRollups: boolean };
  readonly demo: { readonly enabled: boolean; readonly traces: number; readonly days: number };
  readonly redisUrl?: string;
  readonly http: { readonly maxBodyBytes: number; readonly shutdownTimeoutMs: number; readonly drainDelayMs: number };
  readonly telemetry: {
    readonly metrics: { readonly enabled: boolean; readonly port?: number };
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
  if (problems.length) throw new ConfigError(problems);

  return deepFreeze({
    env: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    database: {
      mode: e.DATABASE_MODE,
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
    },
    analytics: { maxSeriesPoints: e.MAX_SERIES_POINTS, exactPercentilesMaxMs: e.EXACT_PERCENTILES_MAX_HOURS * 3_600_000, useRollups: e.ANALYTICS_USE_ROLLUPS },
    demo: { enabled: e.DEMO_DATA, traces: e.DEMO_TRACES, days: e.DEMO_DAYS },
    redisUrl: e.REDIS_URL,
    http: { maxBodyBytes: e.MAX_BODY_BYTES, shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS, drainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS },
    telemetry: {
      metrics: { enabled: e.METRICS_ENABLED, port: e.METRICS_PORT },
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
  });
}
