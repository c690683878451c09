import type { ServiceContext } from '../../context';
import { withTimedRead } from '../../db/database';
import { badInput } from '../../shared/errors';
import { normalizeTraceFilter, type TraceFilterInput } from '../../query/trace-filter-input';
import type { SessionParent } from './sessions.mappers';
import { findSessions } from './sessions.repository';
import { isCalendarTimestamp } from '../../shared/calendar';
import { pageFlags, resolvePageArgs, type PageArgs } from '../../shared/page-args';

/** Session ids are the applications' own strings: bounded, and never NUL (PostgreSQL text cannot hold it). */
export const isSessionId = (id: string): boolean => id.length >= 1 && id.length <= 200 && !id.includes('\u0000');

const DEFAULT_WINDOW_MS = 86_400_000;

function encodeSessionCursor(s: SessionParent): string {
  return Buffer.from(JSON.stringify(['S', s.last_key, s.session_id])).toString('base64url');
}

function decodeSessionCursor(cursor: string, argument: 'after' | 'before'): { ts: string; id: string } {
  const bad = () => badInput('Malformed cursor: pass back a cursor exactly as it was returned', { argument });
  if (cursor.length > 1024) throw bad();
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

export async function listSessions(ctx: ServiceContext, args: PageArgs & { filter?: TraceFilterInput | null }) {
  const page = resolvePageArgs(args);
  const { config, database } = ctx.services;
  const filter = normalizeTraceFilter(args.filter, config);
  if (!filter.from) {
    const now = Date.now();
    filter.from = new Date(now - DEFAULT_WINDOW_MS);
    filter.to = filter.to ?? new Date(now + 1000);
  }
  const cursor = page.cursor ? decodeSessionCursor(page.cursor, page.cursorArgument) : null;
  const { rows, beyond } = await withTimedRead(database, 'aggregate', async (trx) => {
    const base = { scope: ctx.scope, filter };
    // Backward: read ascending from `before` and turn the page round.
    const rows = await findSessions(trx, { ...base, limit: page.size + 1, after: cursor, direction: page.backward ? 'ASC' : 'DESC' });
    const beyond = cursor
      ? (await findSessions(trx, { ...base, limit: 1, after: cursor, direction: page.backward ? 'DESC' : 'ASC', inclusive: true })).length > 0
      : false;
    return { rows, beyond };
  });
  const kept = rows.slice(0, page.size);
  if (page.backward) kept.reverse();
  const edges = kept.map((s) => ({ cursor: encodeSessionCursor(s), node: s }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      ...pageFlags(page, rows.length, beyond),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
