import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { openDatabase, type DatabaseHandle } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';
import { hashApiKey } from '../../src/auth/api-keys';
import { startGatewayProcess } from '../support/gateway-process';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { gql, startTestGateway } from '../support/gateway';

/**
 * `npx analytics-gateway keys create|list|revoke` as an operator runs it: the real bin script in
 * a child process, against a PostgreSQL database (DATABASE_URL) and against an embedded DATA_DIR
 * (refused while a gateway has it open, working once it is stopped).
 */
const ROOT = path.resolve(__dirname, '../..');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'analytics-gateway.js'), 'keys', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('keys CLI against DATABASE_URL', () => {
  let pg: TestDatabase;
  let db: DatabaseHandle;
  let env: Record<string, string>;

  beforeAll(async () => {
    pg = await createTestDatabase('keyscli');
    env = { DATABASE_URL: pg.url };
    db = await openDatabase(loadConfig({ DATABASE_URL: pg.url, LOG_LEVEL: 'silent' }));
    await migrateToLatest(db);
    await db.db.insertInto('orgs').values([{ id: 'org_cli', name: 'CLI Org' }, { id: 'org_else', name: 'Else' }]).execute();
    await db.db.insertInto('projects').values([{ id: 'proj_cli', org_id: 'org_cli', name: 'cli' }, { id: 'proj_else', org_id: 'org_else', name: 'else' }]).execute();
  });
  afterAll(async () => {
    await db?.close();
    await pg?.drop();
  });

  it('create (key shown once, only its hash stored) → list → revoke', async () => {
    const created = await cli(['create', '--org', 'org_cli', '--name', 'nightly', '--role', 'viewer', '--projects', 'proj_cli', '--json'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const out = JSON.parse(created.stdout);
    expect(out).toMatchObject({ orgId: 'org_cli', name: 'nightly', role: 'VIEWER', projectIds: ['proj_cli'], revokedAt: null });
    expect(out.key).toMatch(/^obs_viewer_/);
    const row = await db.db.selectFrom('api_keys').selectAll().where('id', '=', out.id).executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(hashApiKey(out.key));

    const listed = await cli(['list', '--org', 'org_cli'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${out.id}\\s+nightly\\s+VIEWER\\s+proj_cli\\s+obs_viewer_\\S*\\s.*active`));
    expect(listed.stdout).not.toContain(out.key);
    expect(listed.stdout).not.toContain(row.key_hash);

    const revoked = await cli(['revoke', out.id, '--org', 'org_cli'], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/Revoked API key .* within AUTH_CACHE_TTL_MS \(30 s\)/);
    expect((await db.db.selectFrom('api_keys').select('revoked_at').where('id', '=', out.id).executeTakeFirstOrThrow()).revoked_at).toBeInstanceOf(Date);
    const all = JSON.parse((await cli(['list', '--org', 'org_cli', '--all', '--json'], env)).stdout);
    expect(all.find((k: any) => k.id === out.id).revokedAt).not.toBeNull();
  });

  it('refuses an empty project list, another org’s project, an unknown org and bad usage', async () => {
    const empty = await cli(['create', '--org', 'org_cli', '--name', 'x', '--role', 'viewer', '--projects', ''], env);
    expect([empty.code, empty.stderr]).toEqual([1, expect.stringContaining('BAD_USER_INPUT: projectIds must name at least one project')]);
    const foreign = await cli(['create', '--org', 'org_cli', '--name', 'x', '--role', 'viewer', '--projects', 'proj_else'], env);
    expect([foreign.code, foreign.stderr]).toEqual([1, expect.stringContaining('Unknown project in this organisation: proj_else')]);
    const org = await cli(['list', '--org', 'org_nope'], env);
    expect([org.code, org.stderr]).toEqual([1, expect.stringContaining('Unknown org org_nope. Orgs in this database: org_cli, org_else')]);
    const usage = await cli(['create', '--org', 'org_cli'], env);
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('create needs --name and --role')]);
    expect((await db.db.selectFrom('api_keys').select('id').where('name', '=', 'x').execute()).length).toBe(0);
  });

  it('a key the CLI made works against a gateway on the same database', async () => {
    const created = JSON.parse((await cli(['create', '--org', 'org_cli', '--name', 'for-http', '--role', 'developer', '--json'], env)).stdout);
    const gw = await startTestGateway({ DATABASE_URL: pg.url, CACHE_WARM_ON_START: 'false' });
    try {
      const r = await gql(gw.url, created.key, '{ viewer { orgId role keyName projectIds } }');
      expect(r.body.data.viewer).toEqual({ orgId: 'org_cli', role: 'DEVELOPER', keyName: 'for-http', projectIds: null });
    } finally {
      await gw.stop();
    }
  });
});

describe('keys CLI against the embedded DATA_DIR', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-keys-cli-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('says so when there is no embedded database yet', async () => {
    const r = await cli(['list', '--org', 'org_acme'], { DATA_DIR: path.join(dataDir, 'never-started') });
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('No embedded database in DATA_DIR')]);
    expect(fs.existsSync(path.join(dataDir, 'never-started'))).toBe(false);
  });

  it('refuses while a gateway runs on it, and works once it has stopped', async () => {
    const gateway = await startGatewayProcess({ DATA_DIR: dataDir, DEMO_TRACES: '500', DEMO_DAYS: '2', CACHE_WARM_ON_START: 'false' }, { timeoutMs: 150_000 });
    let stopped = false;
    try {
      const busy = await cli(['create', '--org', 'org_acme', '--name', 'while-running', '--role', 'viewer'], { DATA_DIR: dataDir });
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/DATA_DIR .* is in use by the gateway \(pid \d+/);
      expect(busy.stderr).toContain('createApiKey');
      // The gateway is unharmed and still owns the directory.
      const admin = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo-keys.json'), 'utf8')).find((k: any) => k.role === 'ADMIN').key;
      const names = (await gql(gateway.url, admin, '{ apiKeys { name } }')).body.data.apiKeys.map((k: any) => k.name);
      expect(names).not.toContain('while-running');
      // A second gateway on the same directory is refused the same way, before opening it.
      await expect(startGatewayProcess({ DATA_DIR: dataDir }, { timeoutMs: 60_000 })).rejects.toThrow(/exited early[\s\S]*is in use by the gateway \(pid \d+/);
      expect(await gateway.stop()).toBe(0);
      stopped = true;

      const created = await cli(['create', '--org', 'org_acme', '--name', 'after-stop', '--role', 'billing', '--json'], { DATA_DIR: dataDir });
      expect(created.stderr).toBe('');
      expect(JSON.parse(created.stdout)).toMatchObject({ orgId: 'org_acme', name: 'after-stop', role: 'BILLING' });
      expect(fs.existsSync(path.join(dataDir, '.gateway.lock'))).toBe(false);
    } finally {
      if (!stopped) await gateway.stop();
    }
  });
});
