import type { RunningGateway } from '../../src/app';
import { gql, startTestGateway } from '../support/gateway';

/**
 * Issue 17 over real HTTP: one forbidden report no longer blanks a dashboard (nullable root
 * fields, the cache and the refund still right), the status of an out-of-range page size as
 * the README states it, and an Authorization header in another scheme than Bearer.
 */
describe('first-hour API over HTTP', () => {
  let gw: RunningGateway;
  let billing: string;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    const org = gw.demoKeys.find((k) => k.role === 'ADMIN')!.orgId;
    admin = gw.demoKeys.find((k) => k.orgId === org && k.role === 'ADMIN')!.key;
    billing = gw.demoKeys.find((k) => k.orgId === org && k.role === 'BILLING')!.key;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const dashboard = '{ performance(range: {last: "24h"}, interval: HOUR) { totals { requestCount } } projects { id } costs(range: {last: "24h"}) { totals { requestCount } } }';

  it('BILLING: the forbidden report fails alone, with its path; the allowed fields answer', async () => {
    const r = await gql(gw.url, billing, dashboard, undefined, { 'x-cache-debug': '1' });
    expect(r.status).toBe(200);
    expect(r.body.data!.performance).toBeNull();
    expect(r.body.data!.projects.length).toBeGreaterThan(0);
    expect(r.body.data!.costs.totals.requestCount).toBeGreaterThan(0);
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors![0]).toMatchObject({ path: ['performance'], extensions: { code: 'FORBIDDEN', permission: 'METRICS_READ' } });

    // The refused report did no work: it is not charged (its estimate is refunded).
    const cost = r.body.extensions!.cost;
    expect(cost.actualQueryCost).toBeLessThan(cost.requestedQueryCost);
    const alone = await gql(gw.url, billing, '{ projects { id } costs(range: {last: "24h"}) { totals { requestCount } } }');
    expect(alone.body.errors).toBeUndefined();
    // costs now comes from the cache (1 point) in both; the forbidden field adds nothing.
    const again = await gql(gw.url, billing, dashboard, undefined, { 'x-cache-debug': '1' });
    expect(again.body.extensions!.cost.actualQueryCost).toBe(alone.body.extensions!.cost.actualQueryCost);

    // Nothing of the refusal was cached: still FORBIDDEN, while costs is a hit.
    expect(again.body.data!.performance).toBeNull();
    expect(again.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(again.body.extensions!.cache.performance.hit).toBe(false);
    expect(again.body.extensions!.cache.costs.hit).toBe(true);
    // And an ADMIN asking the same document gets its report (role is part of the key).
    const adm = await gql(gw.url, admin, dashboard);
    expect(adm.body.errors).toBeUndefined();
    expect(adm.body.data!.performance.totals.requestCount).toBeGreaterThan(0);
  });

  it('a field refused for bad input fails alone and is not cached; its neighbour is', async () => {
    const q = '{ bad: performance(range: {last: "2h"}, timeZone: "Nowhere/City", interval: DAY) { totals { requestCount } } costs(range: {last: "2h"}) { totals { totalUsd } } }';
    const first = await gql(gw.url, admin, q, undefined, { 'x-cache-debug': '1' });
    expect(first.status).toBe(200);
    expect(first.body.data!.bad).toBeNull();
    expect(first.body.data!.costs.totals.totalUsd).toBeGreaterThanOrEqual(0);
    expect(first.body.errors![0]).toMatchObject({ path: ['bad'], extensions: { code: 'BAD_USER_INPUT', argument: 'timeZone' } });
    const second = await gql(gw.url, admin, q, undefined, { 'x-cache-debug': '1' });
    expect(second.body.extensions!.cache.bad.hit).toBe(false);
    expect(second.body.extensions!.cache.costs.hit).toBe(true);
    expect(second.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('first out of 1..1000 is refused before anything runs: HTTP 400, BAD_USER_INPUT, nothing charged', async () => {
    for (const q of ['{ traces(first: 0) { nodes { id } } }', '{ viewer { role } traces(first: 1001) { nodes { id } } }', 'query($n: Int) { sessions(first: $n) { nodes { id } } }']) {
      const r = await gql(gw.url, admin, q, q.includes('$n') ? { n: 0 } : undefined);
      expect(r.status).toBe(400);
      expect(r.body.data).toBeUndefined();
      expect(r.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'first' });
    }
    // A field's own narrower bound (topSpenders: 1..100) is checked by its resolver: 200 in the field.
    const spenders = await gql(gw.url, admin, '{ costs(range: {last: "1h"}) { topSpenders(limit: 500) { stats { totalUsd } } } }');
    expect(spenders.status).toBe(200);
    expect(spenders.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('an Authorization header in another scheme than Bearer gets its own coded message', async () => {
    const ask = (headers: Record<string, string>) =>
      fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ viewer { role } }' }) }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));
    for (const authorization of [admin, 'abc', `Basic ${Buffer.from('user:pass').toString('base64')}`, `Token ${admin}`]) {
      const r = await ask({ authorization });
      expect(r.status).toBe(401);
      expect(r.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(r.body.errors[0].message).toMatch(/^Authorization header must use the Bearer scheme/);
    }
    const empty = await ask({ authorization: 'Bearer' });
    expect(empty.status).toBe(401);
    expect(empty.body.errors[0].message).toMatch(/Bearer must be followed by exactly one key/);
    const none = await ask({});
    expect(none.status).toBe(401);
    expect(none.body.errors[0].message).toBe('A valid API key or token is required');
    const wrong = await ask({ authorization: 'Bearer not-a-key' });
    expect(wrong.body.errors[0].message).toBe('A valid API key or token is required');
    // Lower-case scheme is the same scheme (RFC 9110: case-insensitive).
    expect((await ask({ authorization: `bearer ${admin}` })).body.data.viewer.role).toBe('ADMIN');

    // The download and ingestion endpoints say the same.
    const dl = await fetch(new URL('/exports/00000000-0000-0000-0000-000000000000/download', gw.url), { headers: { authorization: 'Basic abc' } });
    expect(dl.status).toBe(401);
    expect(((await dl.json()) as any).errors[0].message).toMatch(/Bearer scheme/);
    const otlp = await fetch(new URL('/v1/traces', gw.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic abc' }, body: '{"resourceSpans":[]}' });
    expect(otlp.status).toBe(401);
    expect(await otlp.text()).toMatch(/Bearer scheme/);
  });
});
