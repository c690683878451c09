import { gql } from '../support/gateway';
import { startOpsGateway, type OpsGateway } from '../support/ops-gateway';
import { delta, scrape } from '../support/prom-text';

const RECENT = 'query RecentTraces { traces(first: 5) { nodes { id } } }';

describe('/metrics after a scripted set of requests', () => {
  let ops: OpsGateway;
  beforeAll(async () => {
    ops = await startOpsGateway({ DB_POOL_MAX: '7' });
  });
  afterAll(async () => {
    await ops?.stop();
  });

  it('moves each counter by exactly the requests made', async () => {
    const metricsUrl = `${ops.base}/metrics`;
    // Warm the key lookup so that the DB statements counted below are only the resolvers'.
    expect((await gql(ops.gw.url, ops.key, '{ viewer { orgId } }')).status).toBe(200);
    const before = await scrape(metricsUrl);

    let graphqlBytes = 0;
    const post = async (key: string | null, query: string) => {
      graphqlBytes += Buffer.byteLength(JSON.stringify({ query }));
      return gql(ops.gw.url, key, query);
    };
    for (let i = 0; i < 3; i++) expect((await post(ops.key, RECENT)).body.errors).toBeUndefined();
    expect((await post('obs_admin_wrong', RECENT)).status).toBe(401);
    expect((await post(ops.key, '{ nope }')).status).toBe(400);
    const bad = await post(ops.key, 'query OneTrace { trace(id: "not-a-uuid") { id } }');
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    for (let i = 0; i < 2; i++) expect((await fetch(`${ops.base}/health/ready`)).status).toBe(200);
    expect((await fetch(`${ops.base}/no/such/route`)).status).toBe(404);
    expect((await fetch(`${ops.base}/health/live`)).status).toBe(200);
    // Counting happens when the response closes on the server; give the last one a moment.
    await new Promise((r) => setTimeout(r, 50));
    const after = await scrape(metricsUrl);
    const d = (name: string, labels: Record<string, string> = {}) => delta(before, after, name, labels);

    expect(d('http_requests_total', { endpoint: '/graphql', status: '200' })).toBe(4);
    expect(d('http_requests_total', { endpoint: '/graphql', status: '401' })).toBe(1);
    expect(d('http_requests_total', { endpoint: '/graphql', status: '400' })).toBe(1);
    expect(d('http_requests_total', { endpoint: '/health/ready', status: '200' })).toBe(2);
    expect(d('http_requests_total', { endpoint: 'other', status: '404' })).toBe(1);
    expect(d('http_requests_total', { endpoint: '/health/live', status: '200' })).toBe(1);
    // The scrape that produced `before` is counted once it has been answered.
    expect(d('http_requests_total', { endpoint: '/metrics', status: '200' })).toBe(1);
    expect(d('http_request_duration_seconds_count', { endpoint: '/graphql' })).toBe(6);
    expect(d('http_request_size_bytes_count', { endpoint: '/graphql' })).toBe(6);
    expect(d('http_request_size_bytes_sum', { endpoint: '/graphql' })).toBe(graphqlBytes);
    expect(d('http_response_size_bytes_count', { endpoint: '/graphql' })).toBe(6);
    expect(d('http_response_size_bytes_sum', { endpoint: '/graphql' })).toBeGreaterThan(100);

    expect(d('graphql_operations_total', { operation: 'RecentTraces', type: 'query' })).toBe(3);
    expect(d('graphql_operations_total', { operation: 'OneTrace', type: 'query' })).toBe(1);
    expect(d('graphql_operations_total', { operation: 'anonymous', type: 'invalid' })).toBe(1);
    expect(d('graphql_resolver_errors_total', { code: 'BAD_USER_INPUT' })).toBe(1);

    // One findTraces per traces query, each a read batch: its settings and the statement in one
    // round trip (no BEGIN or COMMIT).
    expect(d('db_query_duration_seconds_count', { query: 'findTraces' })).toBe(3);
    expect(d('db_query_duration_seconds_count', { query: 'readSettings' })).toBe(3);
    expect(d('db_query_duration_seconds_count', { query: 'begin' })).toBe(0);
    expect(d('db_query_duration_seconds_count', { query: 'commit' })).toBe(0);
    // Three findTraces, their three settings and the lookup of the wrong key (the right one is
    // memoised). The readiness probes' SELECT 1 run on their own connection, outside the pool.
    expect(d('db_queries_total', { operation: 'select' })).toBe(7);
    expect(d('db_queries_total', { operation: 'other' })).toBe(0);
    expect(d('db_errors_total', { error_type: 'statement_timeout' })).toBe(0);

    expect(after.get('db_pool_size{pool="primary"}')).toBe(7);
    expect(after.get('db_pool_connections{pool="primary"}')).toBeGreaterThanOrEqual(1);
    expect(after.has('db_pool_idle{pool="primary"}')).toBe(true);
    expect(after.get('db_pool_waiting{pool="primary"}')).toBe(0);
    expect(after.has('process_cpu_user_seconds_total')).toBe(true);
  });

  it('keeps operation names bounded: invalid names become "other"', async () => {
    const before = await scrape(`${ops.base}/metrics`);
    const weird = `query ${'x'.repeat(100)} { viewer { orgId } }`;
    expect((await gql(ops.gw.url, ops.key, weird)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    const after = await scrape(`${ops.base}/metrics`);
    expect(delta(before, after, 'graphql_operations_total', { operation: 'other', type: 'query' })).toBe(1);
  });
});

describe('METRICS_PORT', () => {
  it('serves /metrics on its own listener and not on the public one', async () => {
    const ops = await startOpsGateway({ METRICS_PORT: '0' }, { traces: 0 });
    try {
      expect(ops.gw.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(ops.gw.metricsUrl).not.toContain(`:${ops.gw.port}/`);
      expect((await fetch(`${ops.base}/metrics`)).status).toBe(404);
      const res = await fetch(ops.gw.metricsUrl!);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toContain('# TYPE http_requests_total counter');
    } finally {
      await ops.stop();
    }
  });
});
