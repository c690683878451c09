import { createApiKey } from '../../src/auth/api-keys';
import type { RunningGateway } from '../../src/app';
import { refreshRollups } from '../../src/db/rollup-refresh';
import { seedDatabase } from '../../db/seed/loader';
import { startTestGateway } from './gateway';
import { createTestDatabase, type TestDatabase } from './postgres';

export type AnalyticsMode = 'embedded' | 'postgres';

export interface AnalyticsFixture {
  gw: RunningGateway;
  keys: Record<string, string>;
  orgs: string[];
  stop(): Promise<void>;
}

/** A gateway on seeded data whose rollups are refreshed up to `now`: the same data in every mode. */
export async function startAnalyticsFixture(
  mode: AnalyticsMode,
  opts: { endAt: Date; now: Date; traces?: number; days?: number; env?: Record<string, string> },
): Promise<AnalyticsFixture> {
  let tdb: TestDatabase | undefined;
  // The search indexer's turns would land in tests that record every statement of a request
  // (CI failed once with its `FROM traces t WHERE t.id IN (…)` among them); search still
  // reads the unindexed tail, so results do not change.
  const env: Record<string, string> = { DEMO_DATA: 'false', SEARCH_INDEX_INTERVAL_MS: '0', ...(opts.env ?? {}) };
  if (mode === 'postgres') {
    tdb = await createTestDatabase('analytics');
    Object.assign(env, { DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' });
  }
  const gw = await startTestGateway(env);
  const db = gw.services.database;
  await seedDatabase(db, { traces: opts.traces ?? 12000, days: opts.days ?? 10, orgs: 2, seed: 99, endAt: opts.endAt });
  await refreshRollups(db, opts.now);
  const orgs = (await db.db.selectFrom('orgs').select('id').orderBy('id').execute()).map((o) => o.id);
  const keys: Record<string, string> = {};
  for (const org of orgs) {
    for (const role of ['ADMIN', 'VIEWER'] as const) {
      keys[`${org}:${role}`] = (await createApiKey(db.db, { orgId: org, name: `${role} key`, role })).key;
    }
  }
  return {
    gw,
    keys,
    orgs,
    async stop() {
      await gw.stop();
      await tdb?.drop();
    },
  };
}

/** Rounds floats so that sums computed in different orders compare equal. */
export function roundDeep(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? v : Number(v.toPrecision(9));
  if (Array.isArray(v)) return v.map(roundDeep);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundDeep(x)]));
  return v;
}
