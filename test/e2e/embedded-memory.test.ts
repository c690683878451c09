import pg from 'pg';
import { sql } from 'kysely';
import type { RunningGateway } from '../../src/app';
import { startEmbeddedDatabase } from '../../src/db/embedded/embedded-database';
import { gql, startTestGateway } from '../support/gateway';

const MB = 1048576;
/**
 * README, Memory: PGlite's WebAssembly memory is bounded by shared_buffers (28 MB by default)
 * plus the largest statement's working memory; it never shrinks. 62 MB when opened, 74 MB after
 * a first start with 60k demo traces, 89 MB after 10 minutes of the soak. The documented bound
 * is 160 MB: the build's own 128 MB of shared buffers alone opened at 174 MB.
 */
const WASM_BOUND = 160 * MB;

/** The embedded database reports what its worker holds (README, Memory); server modes do not. */
describe('embedded memory in /metrics', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ DEMO_TRACES: '2000', CACHE_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false' });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const part = (text: string, name: string) => Number(new RegExp(`^gateway_embedded_memory_bytes\\{part="${name}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);

  it('gives the WebAssembly memory, the worker heap and the relay buffers', async () => {
    const key = gw.demoKeys.find((k) => k.role === 'ADMIN')!.key;
    // A result larger than one socket read, so that the relay has reassembled messages.
    expect((await gql(gw.url, key, '{ traces(first: 500) { nodes { id input output } } }')).body.errors).toBeUndefined();
    const text = await (await fetch(gw.url.replace('/graphql', '/metrics'))).text();
    // At least the buffer pool (28 MB), below the documented bound.
    expect(part(text, 'wasm')).toBeGreaterThan(28 * MB);
    expect(part(text, 'wasm')).toBeLessThan(WASM_BOUND);
    expect(part(text, 'worker_heap')).toBeGreaterThan(0);
    // Between requests no partial protocol message is held.
    expect(part(text, 'relay')).toBe(0);
    const mem = await gw.services.database.embeddedMemory();
    expect(mem?.wasmBytes).toBe(part(text, 'wasm'));
    expect(Number(/^gateway_embedded_lost_answers (\d+)/m.exec(text)?.[1])).toBe(0);
  });

  it('runs PostgreSQL with 28 MB of shared buffers instead of the build\'s 128 MB', async () => {
    const { rows } = await sql<{ shared_buffers: string }>`SHOW shared_buffers`.execute(gw.services.database.db);
    expect(rows[0]?.shared_buffers).toBe('28MB');
  });

  it('keeps no protocol message after it is sent (the worker heap does not grow with rows served)', async () => {
    const key = gw.demoKeys.find((k) => k.role === 'ADMIN')!.key;
    const heap = async () => (await gw.services.database.embeddedMemory())!.workerHeapUsedBytes;
    const before = await heap();
    // ~120 × 1000 rows with content: PGlite used to keep every one of them (+34 MB per 60 pages here).
    for (let i = 0; i < 120; i++) {
      const r = await gql(gw.url, key, `{ traces(first: 1000, filter: {minTokens: ${i}}) { nodes { id input output } } }`);
      expect(r.body.errors).toBeUndefined();
    }
    expect((await heap()) - before).toBeLessThan(30 * 1048576);
  });
});

describe('EMBEDDED_SHARED_BUFFERS_MB', () => {
  const open = async (sharedBuffersMb: number) => {
    const db = await startEmbeddedDatabase(undefined, 'test', { wasmOptimize: false, workerYoungMb: 16, sharedBuffersMb });
    const client = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'postgres', database: 'postgres' });
    await client.connect();
    try {
      const shown = (await client.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]?.shared_buffers;
      // TimescaleDB still loads from the rewritten module.
      const ext = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'")).rows[0]?.n;
      return { shown, ext, wasm: (await db.memory())!.wasmBytes };
    } finally {
      await client.end();
      await db.close();
    }
  };

  it('sizes the buffer pool, and with it the WebAssembly memory PGlite opens with', async () => {
    const small = await open(8);
    expect(small).toMatchObject({ shown: '8MB', ext: 1 });
    const shipped = await open(128);
    expect(shipped).toMatchObject({ shown: '128MB', ext: 1 });
    // The build's own setting opens 100+ MB larger.
    expect(shipped.wasm - small.wasm).toBeGreaterThan(100 * MB);
    expect(small.wasm).toBeLessThan(WASM_BOUND);
  });
});
