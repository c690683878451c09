import { BoundedLabel, endpointOf } from '../../src/telemetry/labels';
import { databaseErrorType, labelQuery } from '../../src/telemetry/database-metrics';

describe('query labels', () => {
  it('names a statement by its repository comment, else by its first keyword', () => {
    expect(labelQuery('select * from "traces" where "org_id" = $1 order by ts desc limit $2 /* findTraces */')).toEqual({ query: 'findTraces', operation: 'select' });
    expect(labelQuery('/* touchApiKey */ update "api_keys" set "last_used_at" = $1')).toEqual({ query: 'touchApiKey', operation: 'update' });
    expect(labelQuery('  INSERT INTO traces VALUES ($1)')).toEqual({ query: 'insert', operation: 'insert' });
    expect(labelQuery('begin')).toEqual({ query: 'begin', operation: 'other' });
    expect(labelQuery('with x as (select 1) select * from x')).toEqual({ query: 'with', operation: 'other' });
    expect(labelQuery("SELECT set_config('statement_timeout', $1, true)")).toEqual({ query: 'select', operation: 'select' });
  });

  it('never turns statement text into a label', () => {
    expect(labelQuery('frobnicate everything')).toEqual({ query: 'other', operation: 'other' });
    expect(labelQuery("select 1 /* it's a comment with spaces */")).toEqual({ query: 'select', operation: 'select' });
    expect(labelQuery(`select 1 /* ${'n'.repeat(80)} */`).query).toBe('select');
  });

  it('classifies database errors into a closed set', () => {
    expect(databaseErrorType({ code: '57014' })).toBe('statement_timeout');
    expect(databaseErrorType(new Error('timeout exceeded when trying to connect'))).toBe('pool_timeout');
    expect(databaseErrorType({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' })).toBe('connection');
    expect(databaseErrorType(new Error('Connection terminated unexpectedly'))).toBe('connection');
    expect(databaseErrorType({ code: '3D000' })).toBe('connection');
    expect(databaseErrorType({ code: '23505' })).toBe('constraint');
    expect(databaseErrorType({ code: '40P01' })).toBe('serialization');
    expect(databaseErrorType({ code: '42P01' })).toBe('query');
    expect(databaseErrorType('weird')).toBe('other');
  });
});

describe('BoundedLabel', () => {
  it('admits identifiers up to a length and a count, then answers "other"', () => {
    const label = new BoundedLabel(3, 10);
    expect(['a', 'b', 'c'].map((v) => label.of(v))).toEqual(['a', 'b', 'c']);
    expect(label.of('d')).toBe('other');
    expect(label.of('a')).toBe('a'); // already admitted
    const fresh = new BoundedLabel(10, 10);
    expect(fresh.of('x'.repeat(11))).toBe('other');
    expect(fresh.of('has space')).toBe('other');
    expect(fresh.of('user@example.com')).toBe('other');
  });

  it('maps paths to a fixed set of endpoints', () => {
    expect(['/graphql', '/health/ready', '/health/live', '/metrics', '/', '/graphql/x', '/users/123'].map(endpointOf)).toEqual([
      '/graphql', '/health/ready', '/health/live', '/metrics', 'other', 'other', 'other',
    ]);
  });
});
