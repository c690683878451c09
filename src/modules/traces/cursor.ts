import { badInput } from '../../shared/errors';
import { isCalendarTimestamp } from '../../shared/calendar';
import { isUuid } from '../../shared/ids';

// Shared with other modules' argument checks; re-exported for existing callers.
export { isCalendarTimestamp } from '../../shared/calendar';
export { isUuid } from '../../shared/ids';

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

const INT4_MAX = 2_147_483_647;
const COST_TEXT = /^-?\d{1,6}(\.\d{1,8})?$/;

/** The sort value a cursor of this ordering may carry: what the column can hold, nothing else. */
function validSortValue(ordering: string, value: unknown): boolean {
  const field = ordering.split(':')[0];
  switch (field) {
    case 'TIMESTAMP':
      return value === null;
    case 'COST': // numeric(14, 8), sent as text
      return typeof value === 'string' && COST_TEXT.test(value);
    case 'DURATION': // double precision
      return typeof value === 'number' && Number.isFinite(value);
    case 'TOKENS': // integer
      return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= INT4_MAX;
    default:
      return false;
  }
}

export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(JSON.stringify([p.ordering, p.value, p.ts, p.id])).toString('base64url');
}

export function decodeCursor(cursor: string, ordering: string, argument: 'after' | 'before' = 'after'): CursorPosition {
  const invalid = () => badInput('Malformed cursor: pass back a cursor exactly as it was returned', { argument });
  if (cursor.length > 512) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw invalid();
  const [o, value, ts, id] = parsed as unknown[];
  if (typeof o !== 'string' || typeof ts !== 'string' || typeof id !== 'string' || !isUuid(id)) throw invalid();
  if (!TS_TEXT.test(ts) || !isCalendarTimestamp(ts)) throw invalid();
  if (o !== ordering) {
    throw badInput(`This cursor belongs to a different ordering; start again without \`${argument}\``, { argument });
  }
  if (!validSortValue(o, value)) throw invalid();
  return { ordering: o, value: value as string | number | null, ts, id };
}

