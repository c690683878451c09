import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';

/** The `npm start` path on an embedded data directory, ready once the demo-key banner is out. */
async function startDemo(dataDir: string): Promise<{ gw: GatewayProcess; keys: string[]; ms: number }> {
  const started = Date.now();
  const gw = await startGatewayProcess(
    { DATA_DIR: dataDir, DEMO_TRACES: '3000', DEMO_DAYS: '3', LOG_LEVEL: 'warn', ROLLUP_REFRESH_INTERVAL_MS: '60000' },
    { ready: /running at (http:\/\/\S+\/graphql)[\s\S]*BILLING/, timeoutMs: 90_000 },
  );
  const keys = [...new Set([...gw.output().matchAll(/(obs_[a-z]+_[A-Za-z0-9_-]+)/g)].map((k) => k[1] as string))];
  return { gw, keys, ms: Date.now() - started };
}

async function post(url: string, key: string, query: string): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('the gateway process (npm start path)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-start-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('starts on the embedded default with demo data, serves, shuts down cleanly, and restarts on the same data', async () => {
    const first = await startDemo(dataDir);
    expect(first.keys.length).toBeGreaterThanOrEqual(4);
    expect((await post(first.gw.url, first.keys[0]!, '{ traces(first: 2) { nodes { id } } }')).data.traces.nodes).toHaveLength(2);
    expect(await first.gw.stop()).toBe(0);

    // Second start: same data directory, TimescaleDB re-loaded, same keys, no reseeding.
    const second = await startDemo(dataDir);
    expect(second.keys).toEqual(first.keys);
    expect((await post(second.gw.url, second.keys[0]!, '{ traces(first: 1) { totalCount } }')).data.traces.totalCount).toBeGreaterThan(0);
    expect(await second.gw.stop()).toBe(0);
    process.stdout.write(`start-up: first ${first.ms} ms, second ${second.ms} ms\n`);
  });
});
