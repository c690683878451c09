import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import { seedDatabase } from '../../db/seed/loader';
import { gql, startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Three gateways on one PostgreSQL database and one Redis of this test's own (so it can be
 * stopped without touching the machine's Redis): one shared budget, an outage served from
 * per-instance memory, and the shared budget back without a restart.
 */
const PER_MINUTE = 60;
const BURST = 200;
const COST = 10;
const tenAliases = `{ ${Array.from({ length: COST }, (_, i) => `a${i}: viewer { role }`).join(' ')} }`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}:\n${out}`)));
  });
}

const stopRedis = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

async function waitFor(cond: () => Promise<boolean>, ms = 15_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

const limitsMode = async (gw: RunningGateway) => ((await (await fetch(gw.url.replace('/graphql', '/health/ready'))).json()) as { limits: string }).limits;

describe('one budget shared by three gateways through Redis', () => {
  let redisPort: number;
  let redis: ChildProcess;
  let tdb: TestDatabase;
  const gws: RunningGateway[] = [];
  let key: string;

  beforeAll(async () => {
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    tdb = await createTestDatabase('limits');
    const env = {
      DATABASE_URL: tdb.url,
      DATABASE_MODE: 'postgres',
      DB_POOL_MIN: '0',
      DB_POOL_MAX: '4',
      DEMO_DATA: 'false',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REDIS_KEY_PREFIX: `test:shared:${process.pid}:`,
      RATE_LIMIT_VIEWER_PER_MINUTE: String(PER_MINUTE),
      RATE_LIMIT_VIEWER_BURST: String(BURST),
    };
    gws.push(await startTestGateway(env));
    const db = gws[0]!.services.database;
    await seedDatabase(db, { traces: 200, days: 1, orgs: 1, seed: 7, endAt: new Date() });
    const org = (await db.db.selectFrom('orgs').select('id').executeTakeFirstOrThrow()).id;
    key = (await createApiKey(db.db, { orgId: org, name: 'shared', role: 'VIEWER' })).key;
    gws.push(await startTestGateway(env), await startTestGateway(env));
  });
  afterAll(async () => {
    for (const gw of gws) await gw.stop().catch(() => undefined);
    if (redis) await stopRedis(redis);
    await tdb?.drop();
  });

  it('accepts at most budget + refill + one in-flight estimate per instance, driven concurrently', async () => {
    const started = Date.now();
    let accepted = 0;
    let refused = 0;
    const worker = async (gw: RunningGateway) => {
      while (Date.now() - started < 3000) {
        const r = await gql(gw.url, key, tenAliases);
        if (r.status === 200) accepted += r.body.extensions!.cost.actualQueryCost;
        else if (r.status === 429) refused++;
        else throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.body)}`);
      }
    };
    await Promise.all(gws.flatMap((gw) => Array.from({ length: 6 }, () => worker(gw))));
    const elapsedS = (Date.now() - started) / 1000;
    const bound = BURST + (PER_MINUTE / 60) * elapsedS;
    const overshoot = Math.max(0, accepted - bound);
    // Reported for the issue: with one atomic script per request the overshoot is zero.
    console.log(`shared budget: accepted ${accepted} points in ${elapsedS.toFixed(2)} s over 3 instances; bound ${bound.toFixed(1)}; overshoot ${overshoot.toFixed(1)}; refused ${refused}`);
    expect(refused).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(BURST - COST);
    expect(overshoot).toBeLessThanOrEqual(gws.length * COST);
    expect(overshoot).toBe(0);
  });

  it('keeps serving under per-instance memory limits while Redis is down, and shares again when it is back', async () => {
    await stopRedis(redis);
    await waitFor(async () => (await Promise.all(gws.map(limitsMode))).every((m) => m === 'memory'));
    for (const gw of gws) {
      const r = await gql(gw.url, key, tenAliases);
      expect(r.status).toBe(200); // a fresh per-instance bucket: Redis's state is unreachable
      expect(r.body.data.a0.role).toBe('VIEWER');
      const info = await gql(gw.url, key, '{ rateLimit { store } }');
      expect(info.body.data.rateLimit.store).toBe('memory');
    }

    redis = await startRedis(redisPort);
    await waitFor(async () => (await Promise.all(gws.map(limitsMode))).every((m) => m === 'redis'));
    // Drain the shared bucket through the first instance only…
    let statuses: number[] = [];
    for (let i = 0; i < BURST / COST + 2; i++) statuses.push((await gql(gws[0]!.url, key, tenAliases)).status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(BURST / COST - 1);
    expect(statuses.at(-1)).toBe(429);
    // …and the other two, whose memory buckets still have points, are refused: the budget is shared again.
    statuses = await Promise.all(gws.slice(1).map(async (gw) => (await gql(gw.url, key, tenAliases)).status));
    expect(statuses).toEqual([429, 429]);
    const info = await gql(gws[2]!.url, key, '{ rateLimit(dryRun: true) { store } }');
    expect(info.body.data.rateLimit.store).toBe('redis');
  });
});
