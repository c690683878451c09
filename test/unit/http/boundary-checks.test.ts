import { GraphQLError } from 'graphql';
import { jsonContentTypeRefusal, parseMediaType } from '../../../src/http/media-type';
import { findInputProblem } from '../../../src/http/input-guards';
import { isCalendarTimestamp, decodeCursor } from '../../../src/modules/traces/cursor';
import { AppError, ErrorCode, fromQueryError, withRequestStatus } from '../../../src/shared/errors';

describe('media types', () => {
  it('parses type, subtype and parameters case-insensitively', () => {
    const t = parseMediaType('Application/JSON; Charset="UTF-8" ; foo=bar')!;
    expect(t.essence).toBe('application/json');
    expect(t.params.get('charset')).toBe('UTF-8');
    expect(t.params.get('foo')).toBe('bar');
  });
  it.each(['', 'json', 'application/', '/json', 'application/json; charset', 'application/json; =x', 'appli cation/json', 'application/json; a="unterminated'])('refuses %p', (h) => {
    expect(parseMediaType(h)).toBeNull();
  });
  it('reads JSON only as application/json in UTF-8', () => {
    expect(jsonContentTypeRefusal('application/json')).toBeNull();
    expect(jsonContentTypeRefusal('APPLICATION/JSON;charset=utf8')).toBeNull();
    expect(jsonContentTypeRefusal('application/jsonx')).toMatch(/must be application\/json/);
    expect(jsonContentTypeRefusal('application/json; charset=utf-16')).toMatch(/UTF-8 only/);
    expect(jsonContentTypeRefusal(undefined)).toMatch(/must be application\/json/);
  });
});

describe('input guards', () => {
  it('bounds depth without recursing (100,000 levels do not overflow the check)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findInputProblem(deep, 32)).toEqual({ kind: 'depth', limit: 32 });
    expect(findInputProblem({ a: { b: [1, { c: 'x' }] } }, 32)).toBeNull();
  });
  it('finds NUL in strings and keys, with the path', () => {
    expect(findInputProblem({ variables: { f: { models: ['ok', 'a\u0000'] } } }, 32)).toEqual({ kind: 'nul', path: 'variables.f.models[1]' });
    expect(findInputProblem({ ['k\u0000']: 1 }, 32)).toMatchObject({ kind: 'nul' });
    expect(findInputProblem({ s: 'unicode ✓ \u{1F600} \uFFFF' }, 32)).toBeNull();
  });
});

describe('cursor validation', () => {
  it.each([
    ['2026-02-28T23:59:59.999999Z', true],
    ['2024-02-29T00:00:00.000000Z', true],
    ['2026-02-29T00:00:00.000000Z', false],
    ['2026-02-30T00:00:00.000000Z', false],
    ['2026-99-01T00:00:00.000000Z', false],
    ['0000-01-01T00:00:00.000000Z', false],
    ['2026-01-01T24:00:00.000000Z', false],
    ['2026-01-01T1Z', false],
  ])('%s calendar-valid: %p', (ts, ok) => {
    expect(isCalendarTimestamp(ts)).toBe(ok);
  });
  const enc = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
  const ID = '00000000-0000-4000-8000-000000000000';
  const TS = '2026-01-01T00:00:00.000000Z';
  it('checks the sort value against the column of the ordering', () => {
    expect(decodeCursor(enc(['TOKENS:DESC', 12, TS, ID]), 'TOKENS:DESC').value).toBe(12);
    expect(decodeCursor(enc(['COST:ASC', '0.00012000', TS, ID]), 'COST:ASC').value).toBe('0.00012000');
    expect(decodeCursor(enc(['DURATION:ASC', 1.5, TS, ID]), 'DURATION:ASC').value).toBe(1.5);
    for (const [o, v] of [['TOKENS:DESC', 1.5], ['TOKENS:DESC', 2 ** 31], ['TOKENS:DESC', '7'], ['COST:DESC', 1e308], ['COST:DESC', '1e308'], ['TIMESTAMP:DESC', 3]] as const) {
      expect(() => decodeCursor(enc([o, v, TS, ID]), o)).toThrow(/Malformed cursor/);
    }
  });
});

describe('request-level status of coded errors', () => {
  it('gives a coded error without status the status of its code; keeps an explicit one', () => {
    expect((withRequestStatus(new AppError(ErrorCode.BAD_USER_INPUT, 'x')).extensions as any).http.status).toBe(400);
    expect((withRequestStatus(new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'x', { http: { status: 200 } })).extensions as any).http.status).toBe(200);
    expect((withRequestStatus(new AppError(ErrorCode.FORBIDDEN, 'x')).extensions as any).http.status).toBe(403);
    const uncoded = new GraphQLError('boom');
    expect(withRequestStatus(uncoded).extensions.http).toBeUndefined();
  });
  it('maps database data exceptions to BAD_USER_INPUT and masks the rest', () => {
    const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR' });
    expect(fromQueryError(pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00'))?.extensions.code).toBe('BAD_USER_INPUT');
    expect(fromQueryError(pgError('22008', 'date/time field value out of range'))?.message).not.toMatch(/date\/time/);
    expect(fromQueryError(pgError('42P01', 'relation "x" does not exist'))?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(fromQueryError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeNull();
  });
});

describe('DateTime arguments are calendar dates', () => {
  // The scalar as graphql-js calls it for a client's variable.
  it.each(['2026-02-30', '2026-02-31T00:00:00Z', '0000-01-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-13-01'])('%s is refused', (v) => {
    const { resolvers } = require('../../../src/schema');
    const scalar = resolvers.DateTime;
    expect(() => scalar.parseValue(v)).toThrow(/DateTime/);
  });
  it('valid ones pass', () => {
    const { resolvers } = require('../../../src/schema');
    expect(resolvers.DateTime.parseValue('2024-02-29T12:00:00.5+02:00').toISOString()).toBe('2024-02-29T10:00:00.500Z');
    expect(resolvers.DateTime.parseValue('2026-11-26').toISOString()).toBe('2026-11-26T00:00:00.000Z');
  });
});
