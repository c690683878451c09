import { loadConfig, type Config } from '../../src/config';
import { openDatabase, type DatabaseHandle } from '../../src/db/database';
import { createTestDatabase } from './postgres';

export type TestMode = 'embedded' | 'postgres';
export const MODES: TestMode[] = ['embedded', 'postgres'];

export interface ModeFixture {
  readonly handle: DatabaseHandle;
  readonly config: Config;
  /** Database URL in postgres mode (for child processes). */
  readonly url?: string;
  cleanup(): Promise<void>;
}

/**
 * Embedded: PGlite + TimescaleDB in memory (in its worker thread, as in production).
 * Postgres: a fresh database on the local PostgreSQL server over TCP, plain mode.
 */
export async function openMode(mode: TestMode, env: Record<string, string> = {}): Promise<ModeFixture> {
  if (mode === 'embedded') {
    const config = loadConfig({ NODE_ENV: 'test', DEMO_DATA: 'false', ROLLUP_REFRESH_INTERVAL_MS: '0', ...env });
    const handle = await openDatabase(config, { inMemory: true });
    return { handle, config, cleanup: () => handle.close() };
  }
  const tdb = await createTestDatabase('mode');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: tdb.url,
    DATABASE_MODE: 'postgres',
    DB_POOL_MIN: '0',
    ROLLUP_REFRESH_INTERVAL_MS: '0',
    ...env,
  });
  const handle = await openDatabase(config);
  return {
    handle,
    config,
    url: tdb.url,
    async cleanup() {
      await handle.close();
      await tdb.drop();
    },
  };
}
