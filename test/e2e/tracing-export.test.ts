import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { seedOps } from '../support/ops-gateway';
import { startGatewayProcess } from '../support/gateway-process';

/** An OTLP/HTTP receiver on loopback that keeps the raw protobuf bodies it is sent. */
async function startReceiver(port = 0, host = '127.0.0.1') {
  const bodies: Buffer[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(req.url ?? '');
      bodies.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    bodies,
    paths,
    all: () => Buffer.concat(bodies),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

const QUERY = JSON.stringify({ query: 'query RecentTraces { traces(first: 3) { nodes { id } } }' });

describe('OTLP export from the gateway process', () => {
  let tdb: TestDatabase;
  let key: string;
  beforeAll(async () => {
    tdb = await createTestDatabase('otlp');
    const handle = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    try {
      await migrateToLatest(handle);
      key = (await seedOps(handle.db, 30)).key;
    } finally {
      await handle.close();
    }
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('exports HTTP, GraphQL and pg spans of the caller trace when OTEL_EXPORTER_OTLP_ENDPOINT is set, flushing on SIGTERM', async () => {
    const receiver = await startReceiver();
    const gw = await startGatewayProcess({
      DATABASE_URL: tdb.url,
      DATABASE_MODE: 'postgres',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
      // Long enough that only the shutdown flush can deliver the spans within this test.
      OTEL_BSP_SCHEDULE_DELAY: '60000',
    });
    try {
      const traceId = '5b8efff798038103d269b633813fc60c';
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, traceparent: `00-${traceId}-eee19b7ec3c1b174-01` },
        body: QUERY,
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).data.traces.nodes.length).toBeGreaterThan(0);
      expect(receiver.bodies).toHaveLength(0);
      expect(await gw.stop()).toBe(0);

      expect(receiver.paths.every((p) => p === '/v1/traces')).toBe(true);
      const sent = receiver.all();
      // Raw protobuf: ids are 16 raw bytes, names and attribute values plain UTF-8.
      expect(sent.includes(Buffer.from(traceId, 'hex'))).toBe(true);
      expect(sent.includes('query RecentTraces')).toBe(true); // our GraphQL operation span
      expect(sent.includes('POST /graphql')).toBe(true); // the HTTP server span, named by route
      expect(sent.includes('postgresql')).toBe(true); // pg spans (db.system)
      expect(sent.includes('/* findTraces */')).toBe(true); // ...with the named statement
      expect(sent.includes('analytics-gateway')).toBe(true); // service.name
      // Not the GraphQL document, not the API key.
      expect(sent.includes('traces(first: 3)')).toBe(false);
      expect(sent.includes(key)).toBe(false);
    } finally {
      await gw.stop();
      await receiver.close();
    }
  });

  it('sends nothing anywhere without an OTLP endpoint (not even to the default localhost:4318)', async () => {
    let receiver: Awaited<ReturnType<typeof startReceiver>> | null = null;
    try {
      receiver = await startReceiver(4318, '::');
    } catch (err) {
      process.stdout.write(`skipping the default-port check: cannot listen on 4318 (${(err as Error).message})\n`);
    }
    const gw = await startGatewayProcess({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', OTEL_BSP_SCHEDULE_DELAY: '50', ACCESS_LOG_LEVEL: 'info' });
    try {
      const traceId = '6c8efff798038103d269b633813fc60d';
      const res = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, traceparent: `00-${traceId}-eee19b7ec3c1b174-01` },
        body: QUERY,
      });
      expect(res.status).toBe(200);
      await res.text();
      expect(await gw.stop()).toBe(0);
      if (receiver) expect(await waitFor(() => receiver!.bodies.length > 0, 500)).toBe(false);
      // The caller's trace id still reaches the logs, for correlation.
      expect(gw.output()).toContain(`"traceId":"${traceId}"`);
    } finally {
      await gw.stop();
      await receiver?.close();
    }
  });
});
