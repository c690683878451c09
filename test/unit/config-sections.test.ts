import { ConfigError, ENV_VARIABLES, loadConfig } from '../../src/config';
import { parseKeyValueList } from '../../src/config/values';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('config by section: cross-checks in the schema', () => {
  it.each([
    [{ DATABASE_MODE: 'embedded', DATABASE_URL: 'postgres://h/db' }, 'DATABASE_MODE: embedded mode takes no DATABASE_URL (unset one of them)'],
    [{ DATABASE_MODE: 'timescale' }, 'DATABASE_URL: required when DATABASE_MODE=timescale'],
    [{ DATABASE_READONLY_URL: 'postgres://r/db' }, 'DATABASE_READONLY_URL: needs DATABASE_URL for the primary'],
    [{ DB_POOL_MIN: '30', DB_POOL_MAX: '10' }, 'DB_POOL_MIN: 30 is above DB_POOL_MAX 10'],
    [{ JWT_SECRET: 's'.repeat(32), JWT_JWKS_URL: 'https://idp/jwks' }, 'JWT_SECRET: give either JWT_SECRET (HS256) or JWT_JWKS_URL, not both'],
    [{ RATE_LIMIT_INGEST_BURST: '50' }, 'RATE_LIMIT_INGEST_BURST: 50 is below RATE_LIMIT_INGEST_PER_MINUTE 100'],
    [{ EXPORT_STORAGE: 's3' }, 'EXPORT_S3_BUCKET: required when EXPORT_STORAGE=s3'],
    [{ EXPORT_S3_SECRET_ACCESS_KEY: 'x' }, "EXPORT_S3_ACCESS_KEY_ID: give both EXPORT_S3_ACCESS_KEY_ID and EXPORT_S3_SECRET_ACCESS_KEY, or neither (the SDK's default chain)"],
    [{ EXPORT_STALL_TIMEOUT_MS: '30000' }, 'EXPORT_STALL_TIMEOUT_MS: 30000 must be above EXPORT_BATCH_TIMEOUT_MS 30000'],
  ])('%j → %s', (env, message) => {
    expect(problemsOf(env)).toEqual([message]);
  });

  it('accepts each side of a dependent setting alone', () => {
    expect(loadConfig({ JWT_SECRET: 's'.repeat(32) }).auth.jwt?.secret).toBe('s'.repeat(32));
    expect(loadConfig({ JWT_JWKS_URL: 'https://idp/jwks' }).auth.jwt?.jwksUrl).toBe('https://idp/jwks');
    expect(loadConfig({}).auth.jwt).toBeUndefined();
    const s3 = loadConfig({ EXPORT_STORAGE: 's3', EXPORT_S3_BUCKET: 'bucket', EXPORT_S3_ACCESS_KEY_ID: 'k', EXPORT_S3_SECRET_ACCESS_KEY: 's' }).exports.storage;
    expect(s3).toMatchObject({ kind: 's3', bucket: 'bucket', region: 'us-east-1', prefix: 'exports/', forcePathStyle: false });
  });
});

describe('config by section: every bad variable at once', () => {
  it('reports bad values and failed cross-checks of different sections together', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DB_POOL_MIN: '30',
      DB_POOL_MAX: '10',
      REDIS_URL: 'http://x',
      JWT_SECRET: 's'.repeat(32),
      JWT_JWKS_URL: 'https://idp/jwks',
      CACHE_TTLS: 'traces:30',
      EXPORT_STORAGE: 's3',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['CACHE_TTLS', 'DB_POOL_MIN', 'EXPORT_S3_BUCKET', 'JWT_SECRET', 'PORT', 'REDIS_URL']);
  });

  it('reports a variable read by several sections once', () => {
    // DATABASE_URL is validated by the database section; server and telemetry only look at whether it is set.
    expect(problemsOf({ DATABASE_URL: 'mysql://h/db' })).toEqual(['DATABASE_URL: must be a postgres:// or postgresql:// URL with a host']);
    expect(ENV_VARIABLES.filter((v) => v === 'DATABASE_URL')).toHaveLength(1);
  });
});

describe('config by section: derived values', () => {
  it('parses name=number lists (rate limits, cache TTLs) with one parser', () => {
    expect(parseKeyValueList(' a=1 , b_2=20,')).toEqual({ a: 1, b_2: 20 });
    expect(loadConfig({ CACHE_TTLS: 'traces=30, trace=300' }).cache.ttlOverrides).toEqual({ traces: 30, trace: 300 });
    expect(loadConfig({}).limits.fieldLimits).toEqual({ searchTraces: 100, exportTraces: 10, compareModels: 50 });
    expect(problemsOf({ RATE_LIMIT_FIELD_LIMITS: 'searchTraces=lots' })).toEqual(['RATE_LIMIT_FIELD_LIMITS: like "searchTraces=100,exportTraces=10"']);
  });

  it('exports: the COPY settings and the local folder under DATA_DIR', () => {
    const e = loadConfig({ DATA_DIR: '/srv/gw/' }).exports;
    expect([e.copyBatchRows, e.copyParallel, e.storage]).toEqual([50_000, 2, { kind: 'local', dir: '/srv/gw/exports' }]);
    expect(loadConfig({ EXPORT_COPY_PARALLEL: '8' }).exports.copyParallel).toBe(8);
    expect(problemsOf({ EXPORT_COPY_PARALLEL: '9' })).toHaveLength(1);
  });

  it('the whole result is frozen, nested sections included', () => {
    const c = loadConfig({});
    expect([c.limits.budgets.ADMIN, c.exports.storage, c.telemetry.metrics, c.cache.ttlOverrides].every(Object.isFrozen)).toBe(true);
  });
});
