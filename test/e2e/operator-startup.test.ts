import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { startGateway } from '../../src/app';
import { openDatabase } from '../../src/db/database';
import { asMaintenance } from '../../src/db/maintenance-scope';
import { instrumentDatabase } from '../../src/telemetry/database-metrics';
import { startGatewayProcess } from '../support/gateway-process';
import { opsEnv, startOpsGateway } from '../support/ops-gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const ROOT = path.resolve(__dirname, '../..');

/** Runs `node --import tsx src/main.ts` to its exit (for starts that must fail). */
function runToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', LOG_LEVEL: 'info', ROLLUP_REFRESH_INTERVAL_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

async function publicTables(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'")).rows.map((r) => r.t);
  } finally {
    await c.end();
  }
}

/** A Redis URL nobody listens on: a port bound and closed again. */
async function deadRedisUrl(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `redis://127.0.0.1:${port}`;
}

const logLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown });

/** Every migration the gateway ships (db/migrations/<timestamp>_<name>.ts). */
const MIGRATIONS = fs.readdirSync(path.join(__dirname, '../../db/migrations')).filter((f) => /^\d{14}_\w+\.ts$/.test(f)).length;

describe('server mode start-up: banner, migrations, key hint, Redis at warn', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('i17_banner');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('prints mode, URL, the migrations it applied and how to create the first key; an unreachable Redis is a warning', async () => {
    const gw = await startGatewayProcess({ NODE_ENV: 'test', DATABASE_URL: db.url, DATABASE_MODE: 'postgres', REDIS_URL: await deadRedisUrl(), PLAYGROUND_ENABLED: 'false', CACHE_WARM_ON_START: 'false' }, { ready: /No API key exists yet[\s\S]*?"url":"(http:\/\/[^"]+\/graphql)"|"url":"(http:\/\/[^"]+\/graphql)"[\s\S]*?No API key exists yet/ });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const out = gw.output();
      expect(out).toMatch(/Observatory Analytics Gateway is running at http:\/\/127\.0\.0\.1:\d+\/graphql/);
      expect(out).toMatch(/Storage: postgres mode, postgres:\/\/postgres@127\.0\.0\.1:5432\//);
      expect(out).toMatch(new RegExp(`Migrations: ${MIGRATIONS} applied, ${MIGRATIONS} of them now \\(`));
      expect(out).toMatch(/Redis: redis:\/\/127\.0\.0\.1:\d+ UNREACHABLE/);
      expect(out).toMatch(/No API key exists yet/);
      expect(out).toMatch(/no org exists either: npx analytics-gateway orgs create --id <org>/);
      const redisWarn = logLines(out).find((l) => l.msg.startsWith('redis unreachable'));
      expect(redisWarn?.level).toBe(40);
      expect(logLines(out).find((l) => l.msg === 'gateway listening')).toMatchObject({ mode: 'postgres', migrations: MIGRATIONS, apiKeys: 0, redis: 'unreachable' });
    } finally {
      expect(await gw.stop()).toBe(0);
    }
    // Second start: nothing to apply, an org with no key gets the exact command.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query("INSERT INTO orgs (id, name) VALUES ('org_first', 'First')");
    await c.end();
    const again = await startGatewayProcess({ NODE_ENV: 'test', DATABASE_URL: db.url, DATABASE_MODE: 'postgres', PLAYGROUND_ENABLED: 'false', CACHE_WARM_ON_START: 'false' }, { ready: /keys create --org org_first[\s\S]*?"url":"(http[^"]+)"|"url":"(http[^"]+)"[\s\S]*?keys create --org org_first/ });
    try {
      expect(again.output()).toMatch(new RegExp(`Migrations: ${MIGRATIONS} applied, none pending`));
      expect(again.output()).toContain('npx analytics-gateway keys create --org org_first --name admin --role admin');
      expect(again.output()).toMatch(/Redis: none \(REDIS_URL unset\)/);
    } finally {
      await again.stop();
    }
  }, 120_000);

  it('a port in use is one line, before the database is touched', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const fresh = await createTestDatabase('i17_port');
      try {
        const r = await runToExit({ NODE_ENV: 'test', PORT: String(port), DATABASE_URL: fresh.url, DATABASE_MODE: 'postgres' });
        expect(r.code).toBe(1);
        const lines = r.out.trim().split('\n');
        expect(lines).toEqual([`Failed to start: HTTP port ${port} on 127.0.0.1 is already in use (another gateway, or another program): stop it, or set PORT to a free port`]);
        expect(await publicTables(fresh.url)).toEqual([]);
      } finally {
        await fresh.drop();
      }
    } finally {
      blocker.close();
    }
  }, 60_000);
});

describe('a second gateway on a DATA_DIR in use', () => {
  it('is refused with one line naming the holder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dd-in-use-'));
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(dir, '.gateway.lock'), JSON.stringify({ pid: holder.pid, holder: 'gateway', since: new Date().toISOString() }));
      const r = await runToExit({ NODE_ENV: 'test', PORT: '0', DATA_DIR: dir });
      expect(r.code).toBe(1);
      expect(r.out.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^Failed to start: DATA_DIR .* is in use by the gateway \\(pid ${holder.pid}`))]);
    } finally {
      holder.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('production without DATABASE_URL', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prod-embedded-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('refuses to fall back to the embedded demo (no data directory, no keys printed)', async () => {
    const dir = path.join(dataDir, 'data');
    const r = await runToExit({ NODE_ENV: 'production', PORT: '0', DATA_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n')).toEqual([expect.stringMatching(/^Refusing to start: NODE_ENV=production and no DATABASE_URL\. .*DATABASE_MODE=embedded/)]);
    expect(r.out).not.toMatch(/obs_admin_/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('runs embedded when asked for explicitly: on 127.0.0.1, no demo data, no keys in the logs', async () => {
    const gw = await startGatewayProcess({ NODE_ENV: 'production', DATABASE_MODE: 'embedded', DATA_DIR: dataDir, PLAYGROUND_ENABLED: 'false', HOST: '' }, { timeoutMs: 90_000 });
    try {
      expect(gw.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
      expect(gw.output()).not.toMatch(/obs_(admin|developer|viewer|billing)_/);
      expect(fs.existsSync(path.join(dataDir, 'demo-keys.json'))).toBe(false);
      expect(logLines(gw.output()).find((l) => l.msg === 'gateway listening')).toMatchObject({ mode: 'embedded', apiKeys: 0 });
    } finally {
      await gw.stop();
    }
  }, 120_000);
});

describe('/metrics is not open on a public listener by default', () => {
  it('0.0.0.0 without METRICS_TOKEN: not served there; with it: Bearer required', async () => {
    const open = await startOpsGateway({ HOST: '0.0.0.0' });
    try {
      expect((await fetch(`http://127.0.0.1:${open.gw.port}/metrics`)).status).toBe(404);
    } finally {
      await open.stop();
    }
    const token = 'metrics-token-for-the-test-0123';
    const guarded = await startOpsGateway({ HOST: '0.0.0.0', METRICS_TOKEN: token });
    try {
      const base = `http://127.0.0.1:${guarded.gw.port}/metrics`;
      const none = await fetch(base);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect((await fetch(base, { headers: { authorization: 'Bearer wrong-token-of-any-length' } })).status).toBe(401);
      const ok = await fetch(base, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/http_requests_total/);
    } finally {
      await guarded.stop();
    }
  }, 60_000);
});

describe('no "slow query" warnings for the gateway\'s own statements', () => {
  const capture = () => {
    const lines: { level: number; msg: string; task?: string; query?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    return { lines, logger };
  };

  it('marked maintenance is logged at debug; the same statement on the request path still warns', async () => {
    const tdb = await createTestDatabase('i17_slow');
    const handle = await openDatabase(loadConfig(opsEnv(tdb.url)));
    const { lines, logger } = capture();
    const stop = instrumentDatabase(handle, { logger, slowQueryMs: 5, metrics: false });
    try {
      await asMaintenance('test task', () => sql`SELECT pg_sleep(0.02)`.execute(handle.db));
      expect(lines.filter((l) => l.msg === 'slow query')).toEqual([]);
      expect(lines.find((l) => l.msg === 'slow maintenance statement')).toMatchObject({ level: 20, task: 'test task' });
      await sql`SELECT pg_sleep(0.02)`.execute(handle.db);
      expect(lines.filter((l) => l.msg === 'slow query')).toHaveLength(1);
    } finally {
      stop();
      await handle.close();
      await tdb.drop();
    }
  });

  it('a first embedded start with demo data (CREATE, ANALYZE, CALL refresh) logs none at SLOW_QUERY_MS=1', async () => {
    const { lines, logger } = capture();
    const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', ROLLUP_REFRESH_INTERVAL_MS: '0', DEMO_TRACES: '2000', DEMO_DAYS: '3', DEMO_LIVE: 'false', SLOW_QUERY_MS: '1', CACHE_WARM_ON_START: 'false', PLAYGROUND_ENABLED: 'false' });
    const gw = await startGateway(config, logger, { inMemory: true });
    try {
      expect(lines.filter((l) => l.msg === 'slow query')).toEqual([]);
      const tasks = new Set(lines.filter((l) => l.msg === 'slow maintenance statement').map((l) => l.task));
      expect(tasks.has('migrations')).toBe(true);
      expect(tasks.has('demo data')).toBe(true);
    } finally {
      await gw.stop();
    }
  }, 120_000);
});
