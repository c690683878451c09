import pg from 'pg';

/** The local PostgreSQL server the integration tests use (trust auth on these machines). */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh database with a unique name; drop() removes it even if connections linger. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `gw_test_${prefix}_${process.pid}_${Math.floor(Math.random() * 1e6)}`.toLowerCase();
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** pg_terminate_backend of the backends of `database` running a statement that contains `tag`; how many were ended. */
export async function terminateBackendsRunning(database: string, tag: string): Promise<number> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    const r = await admin.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND strpos(query, $2) > 0 AND pid <> pg_backend_pid()`,
      [database, tag],
    );
    return r.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}
