import fs from 'node:fs';
import fc from 'fast-check';
import { buildSchema } from 'graphql';
import { sql } from 'kysely';
import type { RunningGateway } from '../../src/app';
import { loadTypeDefs } from '../../src/schema';
import { startTestGateway } from '../support/gateway';
import { deleteKeysWithPrefix, REDIS_URL, redisClient, uniquePrefix } from '../support/cache-fixture';
import type { ValuePools } from '../support/fuzz/hostile-values';
import { operationArbitrary } from '../support/fuzz/schema-arbitraries';
import { requestArbitrary, type FuzzRequest } from '../support/fuzz/requests';
import { brokenInvariant } from '../support/fuzz/invariants';

/**
 * Property-based fuzzing over real HTTP against a real gateway (embedded TimescaleDB with the
 * demo data, Redis for limits and the field cache). Requests are generated from the schema
 * (every root field, arguments of their declared types, selections down to leaves) and filled
 * with real ids and cursors, other orgs' ids and hostile values; around them, bodies that are
 * not quite GraphQL. For every answer: no 5xx, JSON, every error coded and none
 * INTERNAL_SERVER_ERROR, no database text, no id of another org's rows; healthy afterwards.
 *
 * Bounded: FUZZ_SECONDS (60 in the suite; `npm run fuzz` runs 600). FUZZ_SEED replays a run.
 */
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 60);
const FUZZ_LOG = process.env.FUZZ_LOG;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

jest.setTimeout(SECONDS * 1000 + 180_000);

describe('fuzz: generated and hostile requests over HTTP', () => {
  let gw: RunningGateway;
  let pools: ValuePools;
  let ownOrg: string;
  const keys: Record<string, string> = {};
  const prefix = uniquePrefix('i13fuzz');

  beforeAll(async () => {
    gw = await startTestGateway({
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      CACHE_WARM_ON_START: 'false',
      // Budgets are exercised elsewhere; here they would only turn most requests into 429s.
      RATE_LIMIT_ADMIN_PER_MINUTE: '100000000',
      RATE_LIMIT_ADMIN_BURST: '100000000',
      RATE_LIMIT_DEVELOPER_PER_MINUTE: '100000000',
      RATE_LIMIT_DEVELOPER_BURST: '100000000',
      RATE_LIMIT_VIEWER_PER_MINUTE: '100000000',
      RATE_LIMIT_VIEWER_BURST: '100000000',
      RATE_LIMIT_BILLING_PER_MINUTE: '100000000',
      RATE_LIMIT_BILLING_BURST: '100000000',
      RATE_LIMIT_FIELD_LIMITS: 'searchTraces=1000000',
    });
    ownOrg = gw.demoKeys.find((k) => k.role === 'ADMIN')!.orgId;
    for (const k of gw.demoKeys.filter((d) => d.orgId === ownOrg)) keys[k.role] = k.key;
    const db = gw.services.database.db;
    const ids = async (column: 'id' | 'project_id' | 'session_id', own: boolean) =>
      (
        await sql<{ v: string }>`SELECT DISTINCT ${sql.ref(column)}::text AS v FROM traces
          WHERE ${own ? sql`org_id = ${ownOrg}` : sql`org_id <> ${ownOrg}`} AND ${sql.ref(column)} IS NOT NULL LIMIT 15`.execute(db)
      ).rows.map((r) => r.v);
    const ownSessions = await ids('session_id', true);
    const foreignSessions = (await ids('session_id', false)).filter((s) => !ownSessions.includes(s));
    const cursors: string[] = [];
    for (const field of ['TIMESTAMP', 'COST', 'DURATION', 'TOKENS']) {
      for (const direction of ['ASC', 'DESC']) {
        const r = await fetch(gw.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.ADMIN}` },
          body: JSON.stringify({ query: `{ traces(first: 3, orderBy: {field: ${field}, direction: ${direction}}) { pageInfo { endCursor } } sessions(first: 2, filter: {last: "7d"}) { pageInfo { endCursor } } }` }),
        });
        const b = (await r.json()) as any;
        cursors.push(b.data.traces.pageInfo.endCursor, b.data.sessions.pageInfo.endCursor);
      }
    }
    pools = {
      own: { traceIds: await ids('id', true), projectIds: await ids('project_id', true), sessionIds: ownSessions, cursors: cursors.filter(Boolean) },
      foreign: {
        traceIds: await ids('id', false),
        projectIds: await ids('project_id', false),
        sessionIds: foreignSessions,
        orgIds: (await db.selectFrom('orgs').select('id').where('id', '<>', ownOrg).execute()).map((o) => o.id),
      },
    };
    expect(pools.foreign.traceIds.length).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await gw?.stop();
    const redis = await redisClient();
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  async function send(r: FuzzRequest) {
    const key = r.role === 'NONE' ? undefined : keys[r.role];
    const res = await fetch(new URL(r.path, gw.url), {
      method: r.method,
      headers: { ...r.headers, ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: r.body,
    });
    return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') };
  }

  it(`finds nothing in ${SECONDS} s (seed ${SEED})`, async () => {
    const schema = buildSchema(loadTypeDefs());
    const requests = requestArbitrary(operationArbitrary(schema, pools, Date.now()));
    let sent = 0;
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(requests, async (r) => {
        // FUZZ_LOG=<file>: every request, in order, for tools/fuzz-replay.ts.
        if (FUZZ_LOG) fs.appendFileSync(FUZZ_LOG, `\n\n#${sent} ${r.describe} ${r.role} ${r.method} ${r.path}\n${JSON.stringify(r.headers ?? {})}\n${r.body ?? ''}`);
        const answer = await send(r);
        sent++;
        for (const m of answer.text.matchAll(/"code":"([A-Z_]+)"/g)) codes.set(m[1]!, (codes.get(m[1]!) ?? 0) + 1);
        const broken = brokenInvariant(answer, pools, ownOrg);
        if (broken) {
          throw new Error(`${broken}\nrequest (${r.describe}, ${r.role}): ${r.method} ${r.path.slice(0, 300)}\n${(r.body ?? '').slice(0, 1500)}\nanswer ${answer.status}: ${answer.text.slice(0, 600)}`);
        }
      }),
      { seed: SEED, numRuns: 10_000_000, interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false, endOnFailure: true },
    );
    // A fuzzer that sent nothing, or only got refusals before execution, proved nothing.
    expect(sent).toBeGreaterThan(SECONDS * 2);
    // eslint-disable-next-line no-console
    console.log(`fuzz: ${sent} requests in ${SECONDS} s, seed ${SEED}; codes seen: ${JSON.stringify(Object.fromEntries(codes))}`);

    const ready = await fetch(gw.url.replace('/graphql', '/health/ready'));
    expect(ready.status).toBe(200);
    const viewer = await send({ method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ viewer { orgId } traces(first: 5) { nodes { id } } }' }), role: 'ADMIN', describe: 'after' });
    expect(JSON.parse(viewer.text).data.viewer.orgId).toBe(ownOrg);
    expect(JSON.parse(viewer.text).data.traces.nodes).toHaveLength(5);
  });
});
