import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createClient } from '@redis/client';
import type { RunningGateway } from '../../src/app';
import { createApiKey } from '../../src/auth/api-keys';
import { gql, startTestGateway, type GqlResponse } from './gateway';
import { startAnalyticsFixture, type AnalyticsFixture } from './analytics-fixture';
import net from 'node:net';
import { closedPort } from './tcp-proxy';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const HOUR = 3_600_000;
export const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
export const END = new Date(Math.floor(NOW.getTime() / HOUR) * HOUR - HOUR);
export const iso = (ms: number) => new Date(ms).toISOString();

/** A Redis key prefix nobody else uses; every key a test gateway writes starts with it. */
export const uniquePrefix = (name: string) => `test:${name}:${process.pid}:${randomBytes(3).toString('hex')}:`;

const makeClient = (url: string) => createClient({ url });
export type RedisTestClient = ReturnType<typeof makeClient>;

export async function redisClient(url = REDIS_URL): Promise<RedisTestClient> {
  const c = makeClient(url);
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export async function keysWithPrefix(client: RedisTestClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }) as AsyncIterable<string[] | string>) {
    out.push(...(Array.isArray(batch) ? batch : [batch]));
  }
  return out.sort();
}

export async function deleteKeysWithPrefix(client: RedisTestClient, prefix: string): Promise<void> {
  const keys = await keysWithPrefix(client, prefix);
  if (keys.length) await client.unlink(keys);
}

export interface CacheFixture {
  /** Gateway with the per-field cache in Redis. */
  readonly gw: RunningGateway;
  /** Same database, cache off: the reference answers. */
  readonly plain: RunningGateway;
  readonly analytics: AnalyticsFixture;
  readonly orgs: string[];
  /** `${org}:${ADMIN|DEVELOPER|VIEWER|BILLING|SCOPED}` → API key (SCOPED: a VIEWER limited to one project). */
  readonly keys: Record<string, string>;
  readonly projects: Record<string, string[]>;
  readonly prefix: string;
  readonly redis: RedisTestClient;
  /** SQL statements run while `fn` ran, on the cached gateway's database. */
  statementsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }>;
  stop(): Promise<void>;
}

/** Seeded PostgreSQL (plain mode), a cached gateway and an uncached one over the same data. */
export async function startCacheFixture(name: string, env: Record<string, string> = {}, opts: { traces?: number } = {}): Promise<CacheFixture> {
  const prefix = uniquePrefix(name);
  const analytics = await startAnalyticsFixture('postgres', {
    endAt: END,
    now: NOW,
    traces: opts.traces ?? 6000,
    days: 8,
    env: { REDIS_URL, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_ENABLED: 'false', CACHE_WARM_ON_START: 'false', ...env },
  });
  const gw = analytics.gw;
  const db = gw.services.database.db;
  const plain = await startTestGateway({
    DATABASE_URL: gw.services.config.database.url!,
    DATABASE_MODE: 'postgres',
    DB_POOL_MIN: '0',
    DEMO_DATA: 'false',
    CACHE_ENABLED: 'false',
    RATE_LIMIT_ENABLED: 'false',
  });
  const keys: Record<string, string> = { ...analytics.keys };
  const projects: Record<string, string[]> = {};
  for (const org of analytics.orgs) {
    projects[org] = (await db.selectFrom('projects').select('id').where('org_id', '=', org).orderBy('id').execute()).map((p) => p.id);
    for (const role of ['DEVELOPER', 'BILLING'] as const) keys[`${org}:${role}`] = (await createApiKey(db, { orgId: org, name: role, role })).key;
    keys[`${org}:SCOPED`] = (await createApiKey(db, { orgId: org, name: 'scoped', role: 'VIEWER', projectIds: [projects[org]![0]!] })).key;
  }
  const redis = await redisClient();
  return {
    gw,
    plain,
    analytics,
    orgs: analytics.orgs,
    keys,
    projects,
    prefix,
    redis,
    async statementsDuring(fn) {
      const sql: string[] = [];
      const off = gw.services.database.addQueryListener((e) => sql.push(e.query.sql));
      try {
        const result = await fn();
        return { result, sql };
      } finally {
        off();
      }
    },
    async stop() {
      await plain.stop();
      await analytics.stop();
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/** POST with `x-cache-debug: 1`. */
export const debugGql = (url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<GqlResponse> =>
  gql(url, key, query, variables, { 'x-cache-debug': '1' });

/** A redis-server of the test's own on a spare port (never the machine's), to stop and restart. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: a hung Redis (connections stay open, nothing answers). */
  freeze(): void;
  thaw(): void;
}

export async function ownRedis(): Promise<OwnRedis> {
  const port = await closedPort();
  let child: ChildProcess | undefined;
  const self: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
      const until = Date.now() + 10_000;
      for (;;) {
        if (await pong(port)) return;
        if (Date.now() > until) throw new Error(`redis-server on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
  };
  return self;
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
  });
}
