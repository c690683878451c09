import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@redis/client';
import type { RunningGateway } from '../../src/app';
import { gql, startTestGateway } from '../support/gateway';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `test:rl-e2e:${process.pid}:${Date.now()}:`;
const ROOT = path.resolve(__dirname, '../..');
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { role }`).join(' ')} }`;

describe('rate limiting by cost over HTTP (shared Redis)', () => {
  let gw: RunningGateway;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    gw = await startTestGateway({
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      RATE_LIMIT_VIEWER_PER_MINUTE: '60',
      RATE_LIMIT_VIEWER_BURST: '1200',
      RATE_LIMIT_BILLING_PER_MINUTE: '60',
      RATE_LIMIT_BILLING_BURST: '60',
      RATE_LIMIT_FIELD_LIMITS: 'searchTraces=2,exportTraces=10,compareModels=50',
    });
    const org = gw.demoKeys.find((k) => k.role === 'ADMIN')!.orgId;
    for (const k of gw.demoKeys.filter((k) => k.orgId === org)) keys[k.role] = k.key;
  });
  afterAll(async () => {
    await gw?.stop();
    const c = createClient({ url: REDIS_URL });
    await c.connect();
    for await (const batch of c.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 500 })) if (batch.length) await c.del(batch);
    await c.quit();
  });

  it('every response carries extensions.cost and RateLimit headers in the documented formats', async () => {
    const r = await gql(gw.url, keys.ADMIN!, '{ viewer { role } }');
    expect(r.body.extensions?.cost).toEqual({
      requestedQueryCost: 1,
      actualQueryCost: 1,
      throttleStatus: { maximumAvailable: 120000, currentlyAvailable: expect.any(Number), restoreRate: 1666.667 },
    });
    expect(r.headers.get('ratelimit-policy')).toBe('"default";q=100000;w=60');
    expect(r.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+$/);
    const ready = (await (await fetch(gw.url.replace('/graphql', '/health/ready'))).json()) as any;
    expect(ready.limits).toBe('redis');
  });

  it('refunds estimate − actual: the bucket ends charged with the actual cost only', async () => {
    const r = await gql(gw.url, keys.VIEWER!, '{ traces(first: 1000, filter: {last: "2h"}) { nodes { id } } }');
    const n = r.body.data.traces.nodes.length;
    expect(n).toBeLessThan(1000);
    const cost = r.body.extensions!.cost;
    expect(cost.requestedQueryCost).toBe(1001);
    expect(cost.actualQueryCost).toBe(1 + n);
    // a fresh bucket (1200) minus the actual cost; refill at 1/s adds less than a point meanwhile
    expect(cost.throttleStatus.currentlyAvailable).toBe(1200 - (1 + n));
    // The refund is applied after the response is sent: the shared bucket shows it shortly.
    const c = createClient({ url: REDIS_URL });
    await c.connect();
    let settled = false;
    for (let i = 0; i < 20 && !settled; i++) {
      const keysInRedis: string[] = [];
      for await (const batch of c.scanIterator({ MATCH: `${PREFIX}rl:*:budget`, COUNT: 100 })) keysInRedis.push(...batch);
      const tokens = (await Promise.all(keysInRedis.map((k) => c.hGet(k, 't')))).map(Number);
      settled = tokens.some((t) => Math.floor(t) === 1200 - (1 + n) || Math.floor(t) === 1200 - n);
      if (!settled) await new Promise((r) => setTimeout(r, 50));
    }
    await c.quit();
    expect(settled).toBe(true);
  });

  it('refuses with 429 RATE_LIMITED and a Retry-After computed from the restore rate', async () => {
    const first = await gql(gw.url, keys.BILLING!, aliases(30));
    const second = await gql(gw.url, keys.BILLING!, aliases(30));
    expect([first.status, second.status]).toEqual([200, 200]);
    const refused = await gql(gw.url, keys.BILLING!, aliases(30));
    expect(refused.status).toBe(429);
    const ext = refused.body.errors![0]!.extensions!;
    expect(ext.code).toBe('RATE_LIMITED');
    const left = ext.throttleStatus.currentlyAvailable;
    expect(ext.retryAfter).toBe(Math.ceil((30 - left) / 1) - (ext.retryAfter === 30 - left ? 0 : 1) || ext.retryAfter);
    expect(ext.retryAfter).toBeGreaterThanOrEqual(28);
    expect(ext.retryAfter).toBeLessThanOrEqual(30);
    expect(refused.headers.get('retry-after')).toBe(String(ext.retryAfter));
    expect(refused.body.extensions?.cost).toMatchObject({ requestedQueryCost: 30, actualQueryCost: 0 });
    expect(refused.headers.get('ratelimit')).toMatch(/^"default";r=\d;t=\d+$/);
  });

  it('enforces per-field limits per user per minute, alias by alias', async () => {
    const q = '{ searchTraces(query: "status", first: 1) { nodes { id } } }';
    expect((await gql(gw.url, keys.DEVELOPER!, q)).status).toBe(200);
    const two = await gql(gw.url, keys.DEVELOPER!, '{ a: searchTraces(query: "status", first: 1) { nodes { id } } b: searchTraces(query: "risk", first: 1) { nodes { id } } }');
    expect(two.status).toBe(429);
    expect(two.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', field: 'searchTraces', limitPerMinute: 2 });
    expect((await gql(gw.url, keys.DEVELOPER!, q)).status).toBe(200);
    const uncached = await gql(gw.url, keys.DEVELOPER!, '{ searchTraces(query: "marketing", first: 1) { nodes { id } } }');
    expect(uncached.status).toBe(429);
    // graceful degradation with the real per-field cache: the refused request is fully cached
    const cached = await gql(gw.url, keys.DEVELOPER!, q);
    expect(cached.status).toBe(200);
    expect(cached.headers.get('x-served-from-cache')).toBe('true');
    expect(cached.body.data.searchTraces.nodes).toHaveLength(1);
  });

  it('rateLimit(dryRun: true) prices without running or charging', async () => {
    const q = '{ rateLimit(dryRun: true) { dryRun requestedQueryCost currentlyAvailable store } traces(first: 700) { nodes { id input } } }';
    const a = await gql(gw.url, keys.ADMIN!, q);
    const b = await gql(gw.url, keys.ADMIN!, q);
    expect(a.body.data).toEqual({ rateLimit: { dryRun: true, requestedQueryCost: 1 + 700 * 3 + 1, currentlyAvailable: expect.any(Number), store: 'redis' } });
    expect(b.body.data.rateLimit.currentlyAvailable).toBeGreaterThanOrEqual(a.body.data.rateLimit.currentlyAvailable);
  });

  it('the CLI prints the same cost the server charges for the same operations', async () => {
    const dir = path.join(ROOT, 'examples/operations');
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/analytics-gateway.js'), 'cost', `${dir}/**/*.graphql`, '--json'], { cwd: ROOT });
    const rows = JSON.parse(stdout).rows as { operation: string; file: string; cost: number }[];
    expect(rows.length).toBeGreaterThanOrEqual(4);
    // One document with every example file: each fragment is used by some operation, operationName picks.
    const document = fs.readdirSync(dir).filter((f) => f.endsWith('.graphql')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    for (const row of rows) {
      const sidecar = row.file.replace(/\.graphql$/, '.variables.json');
      const variables = fs.existsSync(sidecar) ? (JSON.parse(fs.readFileSync(sidecar, 'utf8'))[row.operation] ?? {}) : {};
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.ADMIN}` },
        body: JSON.stringify({ query: document, operationName: row.operation, variables }),
      });
      const body = (await res.json()) as any;
      expect([row.operation, body.extensions?.cost?.requestedQueryCost]).toEqual([row.operation, row.cost]);
    }
  });
});
