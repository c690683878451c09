import type { RunningGateway } from '../../src/app';
import { gql, startTestGateway } from '../support/gateway';

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
    // shared_buffers alone is 128 MB of PGlite's linear memory.
    expect(part(text, 'wasm')).toBeGreaterThan(128 * 1048576);
    expect(part(text, 'worker_heap')).toBeGreaterThan(0);
    // Between requests no partial protocol message is held.
    expect(part(text, 'relay')).toBe(0);
    const mem = await gw.services.database.embeddedMemory();
    expect(mem?.wasmBytes).toBe(part(text, 'wasm'));
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
