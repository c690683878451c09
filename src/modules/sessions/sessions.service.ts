import type { RequestContext } from '../../context';
import { withStatementTimeout } from '../../db/database';
import { badInput } from '../../shared/errors';
import { normalizeTraceFilter, type TraceFilterInput } from '../traces/traces.service';
import type { SessionParent } from './sessions.mappers';
import { findSessions } from './sessions.repository';
import { isCalendarTimestamp } from '../traces/cursor';

/** Session ids are the applications' own strings: bounded, and never NUL (PostgreSQL text cannot hold it). */
export const isSessionId = (id: string): boolean => id.length >= 1 && id.length <= 200 && !id.includes('\u0000');

const DEFAULT_WINDOW_MS = 86_400_000;

function encodeSessionCursor(s: SessionParent): string {
  return Buffer.from(JSON.stringify(['S', s.last_key, s.session_id])).toString('base64url');
}

function decodeSessionCursor(cursor: string): { ts: string; id: string } {
  if (cursor.length > 1024) throw badInput('Malformed cursor: pass back a cursor exactly as it was returned', { argument: 'after' });
  const bad = () => badInput('Malformed cursor: pass back a cursor exactly as it was returned', { argument: 'after' });
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && v[0] === 'S' && typeof v[1] === 'string' && typeof v[2] === 'string' && isCalendarTimestamp(v[1]) && isSessionId(v[2])) {
      return { ts: v[1], id: v[2] };
    }
  } catch {
    /* fall through */
  }
  throw bad();
}

export async function listSessions(ctx: RequestContext, args: { filter?: TraceFilterInput | null; first?: number | null; after?: string | null }) {
  const first = args.first ?? 50;
  if (!Number.isInteger(first) || first < 1 || first > 1000) throw badInput('first must be between 1 and 1000', { argument: 'first' });
  const { config, database } = ctx.services;
  const filter = normalizeTraceFilter(args.filter, config);
  if (!filter.from) {
    const now = Date.now();
    filter.from = new Date(now - DEFAULT_WINDOW_MS);
    filter.to = filter.to ?? new Date(now + 1000);
  }
  const after = args.after ? decodeSessionCursor(args.after) : null;
  const rows = await withStatementTimeout(database, database.readDb, 'aggregate', (trx) =>
    findSessions(trx, { scope: ctx.scope, filter, limit: first + 1, after }),
  );
  const page = rows.slice(0, first).map((s) => ({ cursor: encodeSessionCursor(s), node: s }));
  return {
    edges: page,
    nodes: page.map((e) => e.node),
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: after !== null,
      startCursor: page[0]?.cursor ?? null,
      endCursor: page[page.length - 1]?.cursor ?? null,
    },
  };
}
