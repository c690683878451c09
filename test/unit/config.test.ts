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
