import DataLoader from 'dataloader';
import type { Scope } from '../../../auth/viewer';
import type { TimedRead } from '../../../db/timed-read';
import type { TraceRow } from '../../../db/schema';
import { findSpansByTraceIds } from '../traces.repository';

/** Every span of many W3C trace ids in one query, in time order; parents and children derive from it. */
export function createSpansByTraceIdLoader(read: TimedRead, scope: Scope) {
  return new DataLoader<string, TraceRow[]>(async (traceIds) => {
    const rows = await read((db) => findSpansByTraceIds(db, scope, traceIds));
    const byTrace = new Map<string, TraceRow[]>();
    for (const r of rows) {
      const list = byTrace.get(r.trace_id);
      if (list) list.push(r);
      else byTrace.set(r.trace_id, [r]);
    }
    return traceIds.map((id) => byTrace.get(id) ?? []);
  });
}
