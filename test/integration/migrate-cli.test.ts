import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { runMigrateCli } from '../../src/cli/migrate-cli';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/** Every migration the gateway ships (db/migrations/<timestamp>_<name>.ts). */
const MIGRATIONS = fs.readdirSync(path.join(__dirname, '../../db/migrations')).filter((f) => /^\d{14}_\w+\.ts$/.test(f)).length;

const ROOT = path.resolve(__dirname, '../..');

function io(env: NodeJS.ProcessEnv, confirm?: (q: string) => Promise<boolean>) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), env, confirm } };
}

async function tables(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'kysely_%' ORDER BY 1");
    return rows.map((r) => r.name);
  } finally {
    await c.end();
  }
}

describe('npm run db:migrate: --help, --status, --down with confirmation', () => {
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    db = await createTestDatabase('i17_migrate_cli');
    env = { DATABASE_URL: db.url, DATABASE_MODE: 'postgres' };
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('--help prints the usage and touches nothing; unknown flags and arguments exit 2', async () => {
    const help = io(env);
    expect(await runMigrateCli(['--help'], help.io)).toBe(0);
    expect(help.out.join('')).toMatch(/^Usage: npm run db:migrate/);
    for (const argv of [['--bogus'], ['down'], ['--status', '--down'], ['--yes']]) {
      const r = io(env);
      expect(await runMigrateCli(argv, r.io)).toBe(2);
      expect(r.err.join('').trim().split('\n')).toHaveLength(1);
    }
    expect(await tables(db.url)).toEqual([]);
  });

  it('--status lists pending migrations without applying them, then applied ones', async () => {
    const before = io(env);
    expect(await runMigrateCli(['--status'], before.io)).toBe(0);
    const text = before.out.join('');
    expect(text).toMatch(/^pending {2}20261126000100_core_tables$/m);
    expect(text).toMatch(new RegExp(`${MIGRATIONS} pending: npm run db:migrate applies them`));
    expect(await tables(db.url)).toEqual([]);

    expect(await runMigrateCli([], io(env).io)).toBe(0);
    const after = io(env);
    expect(await runMigrateCli(['--status'], after.io)).toBe(0);
    expect(after.out.join('')).toMatch(/^applied {2}20261126000400_trace_search {2}\d{4}-/m);
    expect(after.out.join('')).toMatch(/up to date/);
  });

  it('--down without --yes and without a terminal refuses, saying what it would drop', async () => {
    const r = io(env);
    expect(await runMigrateCli(['--down'], r.io)).toBe(1);
    const text = r.err.join('');
    expect(text).toMatch(new RegExp(`--down undoes ${MIGRATIONS} migrations`));
    expect(text).toMatch(/tables and views: .*api_keys.*traces/);
    expect(text).toMatch(/data: traces 0 rows/);
    expect(text).toMatch(/add --yes/);
    expect(await tables(db.url)).toContain('traces');
  });

  it('--down asks on a terminal: anything but "drop" keeps everything; confirming drops', async () => {
    const questions: string[] = [];
    const no = io(env, async (q) => (questions.push(q), false));
    expect(await runMigrateCli(['--down'], no.io)).toBe(1);
    expect(questions).toHaveLength(1);
    expect(await tables(db.url)).toContain('traces');

    const yes = io(env, async () => true);
    expect(await runMigrateCli(['--down'], yes.io)).toBe(0);
    expect(await tables(db.url)).toEqual([]);
  });

  it('--down --yes drops without asking', async () => {
    expect(await runMigrateCli([], io(env).io)).toBe(0);
    const r = io(env, async () => {
      throw new Error('must not ask');
    });
    expect(await runMigrateCli(['--down', '--yes'], r.io)).toBe(0);
    expect(r.out.join('')).toMatch(/down 20261126000100_core_tables: Success/);
    expect(await tables(db.url)).toEqual([]);
  });
});

describe('npm run db:migrate on an embedded DATA_DIR in use', () => {
  let dir: string;
  let holder: ChildProcess;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrate-lock-'));
    // A live process that "holds" the directory, as a running gateway does.
    holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, '.gateway.lock'), JSON.stringify({ pid: holder.pid, holder: 'gateway', since: new Date().toISOString() }));
  });
  afterAll(() => {
    holder.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails with one clear line and a non-zero exit, never a WASM abort or a stack trace', async () => {
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'src/cli/migrate.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATA_DIR: dir },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^db:migrate: DATA_DIR .* is in use by the gateway \\(pid ${holder.pid}`));
    expect(fs.existsSync(path.join(dir, 'PG_VERSION'))).toBe(false);
  });
});
