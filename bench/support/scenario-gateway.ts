/**
 * The gateway in-process on a kept benchmark database, as the statement benchmarks run it
 * (production settings, cache, rate limits, maintenance and demo data off), with an ADMIN key of
 * the first org and `ask` to send one operation over HTTP. `stop` deletes the key and stops it.
 */
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { startGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';

export async function startScenarioGateway(dbName: string, keyName: string, port = Number(process.env.PORT ?? 41902)) {
  const g = await startGateway(
    loadConfig({ DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`, DATABASE_MODE: 'postgres', PORT: String(port), HOST: '127.0.0.1',
      NODE_ENV: 'production', ROLLUP_REFRESH_INTERVAL_MS: '0', SEARCH_INDEX_INTERVAL_MS: '0', CACHE_ENABLED: 'false', CACHE_WARM_ON_START: 'false',
      RATE_LIMIT_ENABLED: 'false', OTEL_SDK_DISABLED: 'true', DEMO_DATA: 'false' }),
    pino({ level: 'warn' }),
  );
  const database = g.services.database;
  const org = (await database.db.selectFrom('orgs').select('id').orderBy('id').executeTakeFirstOrThrow()).id;
  const { key } = await createApiKey(database.db, { orgId: org, name: keyName, role: 'ADMIN' });
  const ask = async (query: string, label = 'operation') => {
    const res = await fetch(g.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(`${label}: ${JSON.stringify(body.errors)}`);
  };
  const stop = async () => {
    await database.db.deleteFrom('api_keys').where('name', '=', keyName).execute();
    await g.stop();
  };
  return { gateway: g, database, key, ask, stop };
}
