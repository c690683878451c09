import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.dataDir).toBe('./.data');
    expect(c.database.url).toBeUndefined();
    expect(c.database.pool).toEqual({ max: 20, min: 5, acquireTimeoutMs: 5000, idleTimeoutMs: 30000, maxLifetimeSeconds: 1800 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.database.pool)).toBe(true);
  });

  it('reports every bad variable at once, by name', () => {
    try {
      loadConfig({ DATABASE_URL: 'not a url', DATABASE_MODE: 'mysql', PORT: 'eighty', REDIS_URL: 'http://x' });
      throw new Error('expected ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const v of ['DATABASE_URL', 'DATABASE_MODE', 'PORT', 'REDIS_URL']) expect(msg).toContain(v);
      expect((err as ConfigError).problems).toHaveLength(4);
    }
  });

  it('rejects contradictory settings', () => {
    expect(() => loadConfig({ DATABASE_MODE: 'postgres' })).toThrow(/DATABASE_URL: required/);
    expect(() => loadConfig({ DB_POOL_MIN: '30', DB_POOL_MAX: '10', DATABASE_URL: 'postgres://h/db' })).toThrow(/DB_POOL_MIN/);
    expect(() => loadConfig({ DATABASE_READONLY_URL: 'postgres://h/db' })).toThrow(/DATABASE_READONLY_URL/);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).port).toBe(4000);
  });
});

describe('the gateway process with bad configuration', () => {
  it('exits non-zero at once, naming the variable', () => {
    const root = path.resolve(__dirname, '../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH, DATABASE_URL: 'mysql://nope', DATABASE_MODE: 'sideways' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('DATABASE_URL');
    expect(r.stderr).toContain('DATABASE_MODE');
  });
});

describe('safe defaults for where the gateway listens and what it shows (issue 17)', () => {
  it('the embedded database binds 127.0.0.1, a server database 0.0.0.0; HOST always wins', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('demo data is on by default, off in production unless asked for', () => {
    expect(loadConfig({}).demo.enabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', DATABASE_MODE: 'embedded' }).demo.enabled).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', DATABASE_MODE: 'embedded', DEMO_DATA: 'true' }).demo.enabled).toBe(true);
  });

  it('/metrics on the public port: open on loopback, token-guarded with METRICS_TOKEN, else not served there', () => {
    const on = (env: Record<string, string>) => loadConfig(env).telemetry.metrics.onPublicPort;
    expect(on({})).toBe('open');
    expect(on({ DATABASE_URL: 'postgres://h/db' })).toBe('off');
    expect(on({ DATABASE_URL: 'postgres://h/db', METRICS_TOKEN: 'a-long-enough-token' })).toBe('token');
    expect(on({ HOST: '127.0.0.1', METRICS_PORT: '9464' })).toBe('off');
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('records whether the embedded database was chosen or fallen back to', () => {
    expect(loadConfig({}).database.embeddedChosen).toBe(false);
    expect(loadConfig({ DATABASE_MODE: 'embedded' }).database.embeddedChosen).toBe(true);
  });
});
