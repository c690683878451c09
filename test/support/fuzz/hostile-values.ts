/** Values a careless or hostile client sends, by GraphQL scalar; mixed with real ids and cursors. */
export interface ValuePools {
  /** Ids and cursors of the caller's own org (real rows). */
  readonly own: { readonly traceIds: string[]; readonly projectIds: string[]; readonly sessionIds: string[]; readonly cursors: string[] };
  /** Ids of other orgs' rows: passing them must never reveal anything. */
  readonly foreign: { readonly traceIds: string[]; readonly projectIds: string[]; readonly sessionIds: string[]; readonly orgIds: string[] };
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const UUID = '00000000-0000-4000-8000-000000000000';

export const HOSTILE_STRINGS: string[] = [
  '',
  ' ',
  'a',
  'gpt-4o',
  'openai',
  'production',
  '24h',
  '7d',
  '15m',
  '0h',
  '99999d',
  '1.5h',
  '-1h',
  'helpfulness',
  'app_version',
  'x'.repeat(201),
  'y'.repeat(10_000),
  'a\u0000b',
  '\u0000',
  'flags\u001fsummary',
  '\r\n\t',
  '\ud800', // lone surrogate
  '\u{1F600}\u{1F9D1}\u200D\u{1F4BB}',
  'ünïcödé ДЖ 中文 עברית',
  '\u202Eevil',
  "x' OR '1'='1",
  "'; DROP TABLE traces; --",
  '%',
  '%%%',
  '_',
  '\\',
  '$1',
  '{"a":1}',
  'null',
  'NaN',
  '__proto__',
  'constructor',
];

export const HOSTILE_INTS: number[] = [0, 1, -1, 2, 3, 10, 50, 100, 101, 999, 1000, 1001, 2147483647, -2147483648, 65536];
export const HOSTILE_FLOATS: number[] = [0, -0, 0.5, 1.5, -1, 100, 1e308, -1e308, 5e-324, 2147483648, 9007199254740993];

export function dateTimes(now: number): string[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  return [
    iso(now - 3_600_000),
    iso(now - 86_400_000),
    iso(now - 7 * 86_400_000),
    iso(now),
    iso(now + 86_400_000 * 2),
    iso(now - 400 * 86_400_000),
    '2026-02-30T00:00:00Z',
    '2026-99-01T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '1970-01-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01',
    '2026-01-01T00:00:00+14:00',
    'yesterday',
    '',
    '2026-01-01T00:00:00.1234567Z',
  ];
}

/** Cursors that decode (or almost) but lie: impossible dates, wrong kinds of sort values, other shapes. */
export const FORGED_CURSORS: string[] = [
  'garbage!',
  '',
  b64('not json'),
  b64([]),
  b64(['TIMESTAMP:DESC', null, '2026-02-30T00:00:00.000000Z', UUID]),
  b64(['TIMESTAMP:DESC', null, '2026-99-01T00:00:00.000000Z', UUID]),
  b64(['TIMESTAMP:DESC', null, '0000-01-01T00:00:00.000000Z', UUID]),
  b64(['TIMESTAMP:DESC', null, '2026-01-01T00:00:00.000000Z', 'not-a-uuid']),
  b64(['TIMESTAMP:ASC', null, '2026-01-01T00:00:00.000000Z', UUID]),
  b64(['TOKENS:DESC', 1.5, '2026-01-01T00:00:00.000000Z', UUID]),
  b64(['TOKENS:DESC', 2 ** 31, '2026-01-01T00:00:00.000000Z', UUID]),
  b64(['TOKENS:DESC', 1e308, '2026-01-01T00:00:00.000000Z', UUID]),
  b64(['COST:DESC', '1e308', '2026-01-01T00:00:00.000000Z', UUID]),
  b64(['COST:DESC', '99999999999999999999.5', '2026-01-01T00:00:00.000000Z', UUID]),
  b64(['DURATION:DESC', -1e308, '2026-01-01T00:00:00.000000Z', UUID]),
  b64(['S', '2026-01-01T1Z', 'sess']),
  b64(['S', '2026-02-30T00:00:00.000000Z', 'sess']),
  b64(['S', '2026-01-01T00:00:00.000000Z', 'a\u0000b']),
  b64(['S', '2026-01-01T00:00:00.000000Z', 'z'.repeat(500)]),
  b64('['.repeat(300)),
  'A'.repeat(2000),
];
