import pino from 'pino';
import type { Kysely } from 'kysely';
import { loadConfig } from '../../src/config';
import { startGateway, type RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import type { Database } from '../../src/db/schema';
import { createTestDatabase, type TestDatabase } from './postgres';
import { buildTraces, ensureOrgs, insertTraces } from './trace-builder';

export interface OpsGateway {
  readonly gw: RunningGateway;
  readonly tdb: TestDatabase;
  /** An ADMIN key of org_a. */
  readonly key: string;
  readonly keyId: string;
  readonly base: string;
  stop(): Promise<void>;
}

/** Base environment of an operations test gateway on the local PostgreSQL (plain mode). */
export function opsEnv(url: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    DATABASE_URL: url,
    DATABASE_MODE: 'postgres',
    DB_POOL_MIN: '0',
    ROLLUP_REFRESH_INTERVAL_MS: '0',
    // The search indexer is background work on the same pool; these tests hold and count connections.
    SEARCH_INDEX_INTERVAL_MS: '0',
    OTEL_SDK_DISABLED: 'true',
    // These tests count statements and hold connections: every query must reach the database.
    CACHE_ENABLED: 'false',
    CACHE_WARM_ON_START: 'false',
    ...env,
  };
}

/** Two orgs with projects, `traces` rows spread over the last day, and an API key. */
export async function seedOps(db: Kysely<Database>, traces = 20, seed = 7): Promise<{ key: string; keyId: string }> {
  await ensureOrgs(db, ['org_a', 'org_b']);
  const to = new Date();
  const from = new Date(to.getTime() - 24 * 3600_000);
  if (traces > 0) await insertTraces(db, buildTraces(traces, { from, to, seed }));
  const { id, key } = await createApiKey(db, { orgId: 'org_a', name: 'ops-test', role: 'ADMIN' });
  return { key, keyId: id };
}

/** A gateway on a fresh database (migrated by the gateway itself), seeded through its primary. */
export async function startOpsGateway(
  env: Record<string, string> = {},
  opts: { traces?: number; logger?: pino.Logger; /** e.g. through a proxy or PgBouncer */ urlFor?: (url: string) => string } = {},
): Promise<OpsGateway> {
  const tdb = await createTestDatabase('ops');
  try {
    const config = loadConfig(opsEnv(opts.urlFor ? opts.urlFor(tdb.url) : tdb.url, env));
    const gw = await startGateway(config, opts.logger ?? pino({ level: 'silent' }));
    const { key, keyId } = await seedOps(gw.services.database.db, opts.traces ?? 20);
    return {
      gw,
      tdb,
      key,
      keyId,
      base: gw.url.replace(/\/graphql$/, ''),
      async stop() {
        await gw.stop();
        await tdb.drop();
      },
    };
  } catch (err) {
    await tdb.drop().catch(() => undefined);
    throw err;
  }
}
