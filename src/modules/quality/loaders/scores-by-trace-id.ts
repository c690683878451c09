import DataLoader from 'dataloader';
import type { Scope } from '../../../auth/viewer';
import type { TimedRead } from '../../../db/timed-read';
import type { ScoreRow } from '../../../db/schema';
import { findScoresByTraceIds } from '../quality.repository';

/** Scores of many traces in one query; a trace without scores gets an empty list. */
export function createScoresByTraceIdLoader(read: TimedRead, scope: Scope) {
  return new DataLoader<string, ScoreRow[]>(async (traceIds) => {
    const rows = await read((db) => findScoresByTraceIds(db, scope, traceIds));
    const byTrace = new Map<string, ScoreRow[]>();
    for (const r of rows) {
      const list = byTrace.get(r.trace_id);
      if (list) list.push(r);
      else byTrace.set(r.trace_id, [r]);
    }
    return traceIds.map((id) => byTrace.get(id) ?? []);
  });
}
