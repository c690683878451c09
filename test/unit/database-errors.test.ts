import { fromDatabaseError, AppError, ErrorCode } from '../../src/shared/errors';
import { databaseErrorType } from '../../src/telemetry/database-metrics';

const err = (message: string, props: Record<string, unknown> = {}) => Object.assign(new Error(message), props);

describe('fromDatabaseError: every connection class has a code', () => {
  const unavailable: Array<[string, unknown]> = [
    ['connect ECONNREFUSED', err('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
    ['connect ECONNRESET', err('connect ECONNRESET 127.0.0.1:5432', { code: 'ECONNRESET' })],
    ['read ECONNRESET', err('read ECONNRESET', { code: 'ECONNRESET', errno: -104, syscall: 'read' })],
    ['write EPIPE', err('write EPIPE', { code: 'EPIPE', syscall: 'write' })],
    ['connect ETIMEDOUT', err('connect ETIMEDOUT 10.0.0.1:5432', { code: 'ETIMEDOUT' })],
    ['EHOSTUNREACH', err('connect EHOSTUNREACH', { code: 'EHOSTUNREACH' })],
    ['DNS failure', err('getaddrinfo EAI_AGAIN db', { code: 'EAI_AGAIN' })],
    ['terminated backend (57P01)', err('terminating connection due to administrator command', { code: '57P01' })],
    ['crash shutdown (57P02)', err('terminating connection because of crash of another server process', { code: '57P02' })],
    ['starting up (57P03)', err('the database system is starting up', { code: '57P03' })],
    ['shutting down (57P03)', err('the database system is shutting down', { code: '57P03' })],
    ['too many connections (53300)', err('sorry, too many clients already', { code: '53300' })],
    ['connection exception class 08', err('connection failure', { code: '08006' })],
    ['idle-in-transaction timeout', err('terminating connection due to idle-in-transaction timeout', { code: '25P03' })],
    ['Connection terminated unexpectedly', err('Connection terminated unexpectedly')],
    ['Connection terminated due to connection timeout', err('Connection terminated due to connection timeout')],
    ['client not queryable (failed ROLLBACK)', err('Client has encountered a connection error and is not queryable')],
    ['client closed', err('Client was closed and is not queryable')],
    ['discarded Kysely connection', err('Postgres connection has been discarded')],
    ['pool exhausted', err('timeout exceeded when trying to connect')],
    ['pool ended (shutdown)', err('Cannot use a pool after calling end on the pool')],
    ['Kysely destroyed (shutdown)', err('driver has already been destroyed')],
    ['AggregateError of a dual-stack connect', Object.assign(new AggregateError([err('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' }), err('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })], ''), {})],
    ['wrapped in a cause', new Error('lookup failed', { cause: err('read ECONNRESET', { code: 'ECONNRESET' }) })],
    // Errors made by Node's core inside Jest's VM realm are not `instanceof Error` here.
    ['plain object from another realm', { message: 'read ECONNRESET', code: 'ECONNRESET' }],
  ];

  it.each(unavailable)('%s → SERVICE_UNAVAILABLE (HTTP 200)', (_name, e) => {
    const coded = fromDatabaseError(e);
    expect(coded).toBeInstanceOf(AppError);
    expect(coded!.extensions.code).toBe(ErrorCode.SERVICE_UNAVAILABLE);
    expect(coded!.extensions.http).toEqual({ status: 200 });
    expect(coded!.message).not.toMatch(/ECONN|EPIPE|127\.0\.0\.1|administrator/);
    expect(databaseErrorType(e)).toMatch(/^(connection|pool_timeout)$/);
  });

  it('tells pool exhaustion and shutdown apart in the message', () => {
    expect(fromDatabaseError(err('timeout exceeded when trying to connect'))!.message).toMatch(/pool is exhausted/);
    expect(fromDatabaseError(err('driver has already been destroyed'))!.message).toMatch(/shutting down/);
    expect(databaseErrorType(err('timeout exceeded when trying to connect'))).toBe('pool_timeout');
  });

  it('maps statement timeouts to TIMEOUT', () => {
    expect(fromDatabaseError(err('canceling statement due to statement timeout', { code: '57014' }))!.extensions.code).toBe('TIMEOUT');
    expect(fromDatabaseError(err('Query read timeout'))!.extensions.code).toBe('TIMEOUT');
  });

  it('leaves query errors, constraint errors, coded errors and non-errors alone', () => {
    expect(fromDatabaseError(err('syntax error at or near "x"', { code: '42601' }))).toBeNull();
    expect(fromDatabaseError(err('duplicate key value', { code: '23505' }))).toBeNull();
    expect(fromDatabaseError(new AppError(ErrorCode.NOT_FOUND, 'no'))).toBeNull();
    expect(fromDatabaseError(new Error('something else'))).toBeNull();
    expect(fromDatabaseError(null)).toBeNull();
    expect(fromDatabaseError('text')).toBeNull();
  });
});
