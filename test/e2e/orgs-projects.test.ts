import { spawn } from 'node:child_process';
import path from 'node:path';
import type { RunningGateway } from '../../src/app';
import { gql, startTestGateway } from '../support/gateway';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrator';

/**
 * A tenant from nothing, without SQL: `orgs create` (operator CLI, real bin script) → `keys
 * create --role admin` → createProject / renameProject with that key; the mutations' rules
 * (ADMIN only, org-wide keys create, ids checked, other orgs' projects invisible).
 */
const ROOT = path.resolve(__dirname, '../..');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'analytics-gateway.js'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const CREATE = 'mutation($id: ID!, $name: String!) { createProject(id: $id, name: $name) { id name createdAt } }';
const RENAME = 'mutation($id: ID!, $name: String!) { renameProject(id: $id, name: $name) { id name } }';

describe('orgs CLI and project mutations (PostgreSQL)', () => {
  let tdb: TestDatabase;
  let env: Record<string, string>;
  let gw: RunningGateway;

  beforeAll(async () => {
    tdb = await createTestDatabase('i15_orgs');
    env = { DATABASE_URL: tdb.url };
    const handle = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, LOG_LEVEL: 'silent' }));
    await migrateToLatest(handle);
    await handle.close();
  });
  afterAll(async () => {
    await gw?.stop();
    await tdb?.drop();
  });

  it('orgs create / list, with first projects; refusals exit 1, bad usage 2', async () => {
    const created = await cli(['orgs', 'create', '--id', 'org_new', '--name', 'New Co', '--projects', 'web-app:Web app,batch', '--json'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ id: 'org_new', name: 'New Co', projects: ['web-app', 'batch'] });
    expect((await cli(['orgs', 'create', '--id', 'org_other', '--name', 'Other', '--projects', 'other-app'], env)).code).toBe(0);

    const taken = await cli(['orgs', 'create', '--id', 'org_new', '--name', 'Again'], env);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('BAD_USER_INPUT: Org id org_new is already taken');
    // A project id taken by another org: the org is not created either (one transaction).
    const clash = await cli(['orgs', 'create', '--id', 'org_clash', '--name', 'Clash', '--projects', 'batch'], env);
    expect(clash.code).toBe(1);
    expect((await cli(['orgs', 'create', '--id', 'Bad Id', '--name', 'x'], env)).code).toBe(1);
    expect((await cli(['orgs', 'create', '--name', 'x'], env)).code).toBe(2);

    const listed = await cli(['orgs', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout).map((o: any) => [o.id, o.projects, o.activeKeys])).toEqual([
      ['org_new', 2, 0],
      ['org_other', 1, 0],
    ]);
    const table = await cli(['orgs', 'list'], env);
    expect(table.stdout).toMatch(/^id\s+name\s+projects\s+active keys\s+created\n/);
  });

  it('the first ADMIN key (keys CLI) creates and renames projects; the rules hold', async () => {
    const key = async (org: string, role: string, projects?: string) => {
      const r = await cli(['keys', 'create', '--org', org, '--name', `${role}-key`, '--role', role, ...(projects ? ['--projects', projects] : []), '--json'], env);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout).key as string;
    };
    const admin = await key('org_new', 'admin');
    const scopedAdmin = await key('org_new', 'admin', 'web-app');
    const developer = await key('org_new', 'developer');
    const ingest = await key('org_new', 'ingest');
    const otherAdmin = await key('org_other', 'admin');
    gw = await startTestGateway({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0', CACHE_ENABLED: 'false' });

    const made = await gql(gw.url, admin, CREATE, { id: 'search', name: '  Search  ' });
    expect(made.body.errors).toBeUndefined();
    expect(made.body.data.createProject).toMatchObject({ id: 'search', name: 'Search' });
    const projects = await gql(gw.url, admin, '{ projects { id name } }');
    expect(projects.body.data.projects.map((p: any) => p.id).sort()).toEqual(['batch', 'search', 'web-app']);

    const renamed = await gql(gw.url, admin, RENAME, { id: 'search', name: 'Search API' });
    expect(renamed.body.data.renameProject).toEqual({ id: 'search', name: 'Search API' });

    const code = (r: any) => r.body.errors?.[0]?.extensions?.code;
    // Taken ids (here or in another org) and malformed ids or names.
    expect(code(await gql(gw.url, admin, CREATE, { id: 'search', name: 'x' }))).toBe('BAD_USER_INPUT');
    expect(code(await gql(gw.url, admin, CREATE, { id: 'other-app', name: 'x' }))).toBe('BAD_USER_INPUT');
    expect(code(await gql(gw.url, admin, CREATE, { id: 'No Spaces', name: 'x' }))).toBe('BAD_USER_INPUT');
    expect(code(await gql(gw.url, admin, CREATE, { id: 'ok-id', name: '' }))).toBe('BAD_USER_INPUT');
    // Only ADMIN; a project-scoped ADMIN renames its own projects but creates none.
    for (const k of [developer, ingest]) expect(code(await gql(gw.url, k, CREATE, { id: 'nope', name: 'x' }))).toBe('FORBIDDEN');
    expect(code(await gql(gw.url, scopedAdmin, CREATE, { id: 'nope', name: 'x' }))).toBe('FORBIDDEN');
    expect((await gql(gw.url, scopedAdmin, RENAME, { id: 'web-app', name: 'Web' })).body.data.renameProject.name).toBe('Web');
    expect(code(await gql(gw.url, scopedAdmin, RENAME, { id: 'batch', name: 'x' }))).toBe('NOT_FOUND');
    // Another org's project is invisible.
    expect(code(await gql(gw.url, otherAdmin, RENAME, { id: 'search', name: 'stolen' }))).toBe('NOT_FOUND');
    const unchanged = await gql(gw.url, admin, '{ project(id: "search") { name } }');
    expect(unchanged.body.data.project.name).toBe('Search API');
  });
});
