import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { startGatewayProcess } from '../support/gateway-process';
import { gql, startTestGateway } from '../support/gateway';

/**
 * The live demo: synthetic calls keep arriving through POST /v1/traces, so relative ranges stay
 * filled; DEMO_LIVE=false turns it off. And `npm start`'s banner: its exporter settings, pasted
 * into an instrumented application's environment, are all it needs.
 */

const waitUntil = async (cond: () => Promise<boolean>, what: string, limitMs = 60_000) => {
  const until = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

describe('live demo', () => {
  it('sends synthetic calls through the OTLP endpoint; they show in the last 15 minutes', async () => {
    const gw = await startTestGateway({ DEMO_LIVE: 'true', DEMO_LIVE_PER_SECOND: '20', CACHE_ENABLED: 'false' });
    try {
      expect(gw.liveDemo).toBeDefined();
      const db = gw.services.database.db;
      const live = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM traces WHERE metadata->>'service' = 'demo-live'`.execute(db)).rows[0]!.n);
      await waitUntil(async () => (await live()) >= 40, 'two rounds of live calls');
      const admin = gw.demoKeys.find((k) => k.role === 'ADMIN')!.key;
      const r = await gql(gw.url, admin, '{ performance(range: { last: "15m" }) { totals { requestCount } } traces(first: 1) { nodes { metadata timestamp } } }');
      expect(r.body.data.performance.totals.requestCount).toBeGreaterThanOrEqual(40);
      expect(r.body.data.traces.nodes[0].metadata).toMatchObject({ source: 'otlp', service: 'demo-live' });
      expect(Date.now() - Date.parse(r.body.data.traces.nodes[0].timestamp)).toBeLessThan(15 * 60_000);
    } finally {
      await gw.stop();
    }
  });

  it('DEMO_LIVE=false: no generator', async () => {
    const gw = await startTestGateway({ DEMO_LIVE: 'false' });
    try {
      expect(gw.liveDemo).toBeUndefined();
      expect(gw.otlpUrl).toMatch(/\/v1\/traces$/);
    } finally {
      await gw.stop();
    }
  });

  it("npm start's banner: the printed exporter settings work as they are", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-i15-live-'));
    const gw = await startGatewayProcess(
      { DATA_DIR: dataDir, DEMO_TRACES: '300', DEMO_DAYS: '1', DEMO_LIVE: 'true', CACHE_WARM_ON_START: 'false' },
      // The JSON log line and the banner reach stdout in either order (pino writes asynchronously).
      { ready: /"url":"(http:\/\/[^"]+\/graphql)"[\s\S]*OTEL_RESOURCE_ATTRIBUTES=observatory\.project\.id=\S+\n|OTEL_RESOURCE_ATTRIBUTES=observatory\.project\.id=\S+\n[\s\S]*"url":"(http:\/\/[^"]+\/graphql)"/, timeoutMs: 100_000 },
    );
    try {
      const out = gw.output();
      expect(out).toMatch(/OTLP\/HTTP traces endpoint: http:\/\/[^\s]+\/v1\/traces \(live demo: 3 synthetic calls\/s/);
      const env: Record<string, string> = {};
      for (const m of out.matchAll(/^\s+export (OTEL_[A-Z_]+)=("?)([^"\n#]+?)\2(\s+#.*)?$/gm)) env[m[1]!] = m[3]!.trim();
      expect(Object.keys(env).sort()).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_RESOURCE_ATTRIBUTES']);
      const user = `banner-user-${process.pid}`;
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/genai-app.ts', JSON.stringify([{ model: 'gpt-4o', input: 10, output: 5, user, session: 's' }])], {
          env: { PATH: process.env.PATH ?? '', ...env, OTEL_SERVICE_NAME: 'banner-app', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
          stdio: 'ignore',
        });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`genai-app exited ${code}`))));
      });
      const keys = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-keys.json'), 'utf8')) as { role: string; key: string }[];
      const admin = keys.find((k) => k.role === 'ADMIN')!.key;
      const r = await gql(gw.url, admin, 'query($u: [String!]) { traces(filter: { userIds: $u }) { nodes { model metadata } } }', { u: [user] });
      expect(r.body.data.traces.nodes).toEqual([expect.objectContaining({ model: 'gpt-4o-2024-08-06', metadata: expect.objectContaining({ service: 'banner-app' }) })]);
    } finally {
      expect(await gw.stop()).toBe(0);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
