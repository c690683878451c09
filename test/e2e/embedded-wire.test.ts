import pg from 'pg';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded/embedded-database';

/**
 * The embedded database's wire relay (src/db/embedded/pglite-worker.js). This PGlite build drops
 * whatever follows a protocol message that ends exactly at a multiple of 8192 bytes of one
 * hand-over: the fuzzer's hang (an 8,183-character statement made an 8,192-byte Parse; its Bind,
 * Execute and Sync were never answered and the one embedded connection waited for good). Each
 * case below puts a message boundary on such a multiple; the client gives up after a few seconds,
 * so a lost answer fails the test instead of hanging it.
 */
describe('embedded database wire relay', () => {
  let embedded: EmbeddedDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    embedded = await startEmbeddedDatabase(undefined);
    client = new pg.Client({ host: '127.0.0.1', port: embedded.port, user: 'postgres', database: 'postgres', query_timeout: 5000 });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await embedded?.close();
  });

  // pg sends Parse as 'P', int32 length, '' (unnamed), the text, NUL, int16 0 (no types): 9 bytes + text.
  const PARSE_OVERHEAD = 9;
  /** A statement of `$1` whose Parse message is exactly `parseBytes` long. */
  const statementWithParse = (parseBytes: number) => {
    const head = 'SELECT $1::text AS v, length($1::text) AS n /* ';
    const tail = ' */';
    return head + 'x'.repeat(parseBytes - PARSE_OVERHEAD - head.length - tail.length) + tail;
  };

  it.each([8191, 8192, 8193, 16384, 24576, 65536])('answers a statement whose Parse is %i bytes', async (parseBytes) => {
    const text = statementWithParse(parseBytes);
    expect(text.length + PARSE_OVERHEAD).toBe(parseBytes);
    const { rows } = await client.query(text, [`p${parseBytes}`]);
    expect(rows).toEqual([{ v: `p${parseBytes}`, n: `p${parseBytes}`.length }]);
  });

  it('answers when the Bind is the message that ends at 8192 bytes', async () => {
    const text = 'SELECT length($1::text) AS n';
    // Bind: 'B', int32, '' portal, '' statement, int16 0 formats, int16 1 param, int32 length,
    // the value, int16 0 result formats = 18 bytes + the value.
    const value = 'y'.repeat(8192 - (text.length + PARSE_OVERHEAD) - 18);
    const { rows } = await client.query(text, [value]);
    expect(rows).toEqual([{ n: value.length }]);
  });

  it('answers statements around every such boundary in one session, and stays usable', async () => {
    for (let parseBytes = 8180; parseBytes <= 8200; parseBytes++) {
      const { rows } = await client.query(statementWithParse(parseBytes), ['z']);
      expect(rows[0]?.v).toBe('z');
    }
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});

describe('embedded database session settings', () => {
  it('sends no DEBUG notices (the build starts with client_min_messages = debug3), on every connection', async () => {
    const embedded = await startEmbeddedDatabase(undefined);
    try {
      for (let i = 0; i < 2; i++) {
        const client = new pg.Client({ host: '127.0.0.1', port: embedded.port, user: 'postgres', database: 'postgres', query_timeout: 5000 });
        const notices: string[] = [];
        client.on('notice', (n) => notices.push(`${n.severity}: ${n.message}`));
        await client.connect();
        expect((await client.query('SHOW client_min_messages')).rows).toEqual([{ client_min_messages: 'warning' }]);
        await client.query('SELECT $1::int AS v', [1]);
        await client.end();
        expect(notices).toEqual([]);
      }
    } finally {
      await embedded.close();
    }
  });
});

/**
 * The worker's guard for an answer PGlite leaves unfinished (one it loses for a reason not known
 * yet): with the 8192-byte cut turned off (a test-only option) the lost answer of the fuzzer's
 * case must come back as an error the gateway codes (SQLSTATE 08P01: 503), the session must stay
 * usable and in the transaction state PGlite reports, and the loss is counted.
 */
describe('embedded database lost-answer guard', () => {
  let embedded: EmbeddedDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    embedded = await startEmbeddedDatabase(undefined, 'gateway', { wasmOptimize: false, workerYoungMb: 16, wholeHandOvers: true });
    client = new pg.Client({ host: '127.0.0.1', port: embedded.port, user: 'postgres', database: 'postgres', query_timeout: 5000 });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await embedded?.close();
  });

  const eightKParse = () => {
    const head = 'SELECT $1::text AS v /* ';
    return head + 'x'.repeat(8192 - 9 - head.length - 3) + ' */';
  };

  it('answers the lost request with SQLSTATE 08P01, which the gateway maps to a coded 503', async () => {
    expect((await embedded.memory())?.lostAnswers).toBe(0);
    const err = await client.query(eightKParse(), ['a']).then(() => null, (e: unknown) => e as { code?: string; message?: string });
    expect(err?.code).toBe('08P01');
    expect(err?.message).toMatch(/embedded database lost part of a request/);
    const { fromDatabaseError } = await import('../../src/shared/errors');
    expect(fromDatabaseError(err)?.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect((await embedded.memory())?.lostAnswers).toBe(1);
    // The session goes on.
    expect((await client.query('SELECT $1::int AS v', [7])).rows).toEqual([{ v: 7 }]);
  });

  it('inside a transaction: the client can roll back and go on', async () => {
    await client.query('BEGIN');
    await expect(client.query(eightKParse(), ['b'])).rejects.toMatchObject({ code: '08P01' });
    await client.query('ROLLBACK');
    expect((await client.query('SELECT 2 AS v')).rows).toEqual([{ v: 2 }]);
  });
});
