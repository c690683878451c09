import { badInput } from '../../shared/errors';

/**
 * Opaque keyset cursors: the sort key of the last row seen (value, exact timestamp text, id)
 * plus the ordering it belongs to, base64url-encoded. Keyset positions stay valid while rows
 * are inserted, unlike offsets.
 */
export interface CursorPosition {
  readonly ordering: string;
  /** Sort column value for non-time orderings (numeric text or number); null for time order. */
  readonly value: string | number | null;
  /** The row's ts as PostgreSQL text (microsecond precision survives the round trip). */
  readonly ts: string;
  readonly id: string;
}

/** The repository's UTC text form of ts, microseconds included. */
const TS_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(JSON.stringify([p.ordering, p.value, p.ts, p.id])).toString('base64url');
}

export function decodeCursor(cursor: string, ordering: string): CursorPosition {
  const invalid = () => badInput('Malformed cursor: pass back a cursor exactly as it was returned', { argument: 'after' });
  if (cursor.length > 512) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw invalid();
  const [o, value, ts, id] = parsed as unknown[];
  if (typeof o !== 'string' || typeof ts !== 'string' || typeof id !== 'string' || !UUID.test(id)) throw invalid();
  if (!TS_TEXT.test(ts)) throw invalid();
  if (value !== null && typeof value !== 'number' && !(typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))) {
    throw invalid();
  }
  if (o !== ordering) {
    throw badInput('This cursor belongs to a different ordering; start again without `after`', { argument: 'after' });
  }
  return { ordering: o, value: value as string | number | null, ts, id };
}

export const isUuid = (s: string): boolean => UUID.test(s);
