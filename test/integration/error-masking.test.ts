import pg from 'pg';
import pino from 'pino';
import { GraphQLError } from 'graphql';
import { createErrorFormatter } from '../../src/graphql/error-masking';
import { PG_ADMIN_URL } from '../support/postgres';

/** Real PostgreSQL errors through the formatter, in development mode (where nothing else is masked). */
describe('database errors never reach clients as text, in any mode', () => {
  let client: pg.Client;
  const lines: any[] = [];
  const logger = pino({ level: 'error' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const formatDev = createErrorFormatter({ maskInternal: false, logger });

  beforeAll(async () => {
    client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
  });

  async function failing(text: string, values: unknown[] = []): Promise<unknown> {
    try {
      await client.query(text, values);
    } catch (err) {
      return err;
    }
    throw new Error(`expected ${text} to fail`);
  }
  const asResolverError = (err: unknown) => new GraphQLError((err as Error).message, { path: ['traces'], originalError: err as Error });

  it.each([
    ['NUL in text', "SELECT $1::text", ['a\u0000b']],
    ['impossible date', "SELECT $1::timestamptz", ['2026-02-30T00:00:00Z']],
    ['integer out of range', 'SELECT $1::int', ['2147483648']],
    ['not a number', 'SELECT $1::numeric', ['1.2.3']],
  ])("the caller's fault (%s): BAD_USER_INPUT without the database's message", async (_n, text, values) => {
    const err = await failing(text, values);
    const e = asResolverError(err);
    const out = formatDev({ message: e.message, path: e.path }, e);
    expect(out.extensions?.code).toBe('BAD_USER_INPUT');
    expect(out.message).not.toContain((err as Error).message);
  });

  it('any other query error: masked INTERNAL_SERVER_ERROR even in development, detail in the log', async () => {
    const err = await failing('SELECT * FROM gw_i13_no_such_table');
    const e = asResolverError(err);
    const out = formatDev({ message: e.message, path: e.path }, e);
    expect(out).toEqual({ message: 'Internal server error', path: ['traces'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(lines.some((l) => l.sqlState === '42P01' && JSON.stringify(l).includes('gw_i13_no_such_table'))).toBe(true);
  });
});
