import DataLoader from 'dataloader';
import type { ServiceContext } from '../../../context';
import type { PageArgs } from '../../../shared/page-args';
import type { TraceConnectionParent } from '../traces.mappers';
import { SESSION_TRACE_ORDER, listFirstTracesOfSessions, listTraces } from '../traces.service';

export interface SessionTracesKey extends PageArgs {
  readonly sessionId: string;
}

const pageOf = (k: SessionTracesKey): PageArgs => ({ first: k.first ?? null, after: k.after ?? null, last: k.last ?? null, before: k.before ?? null });

/** One page of one session's traces, as listTraces answers it (the fallback for cursor pages). */
const pageOfOneSession = (ctx: ServiceContext, k: SessionTracesKey) =>
  listTraces(ctx, { ...pageOf(k), orderBy: SESSION_TRACE_ORDER, baseFilter: { sessionIds: [k.sessionId] } });

/**
 * `Session.traces` for a page of sessions: the keys asking the same page without a cursor
 * (the usual `sessions { nodes { traces(first: n) } }`) are answered by one statement; a page
 * after a cursor is one session's and is read alone. A failing key fails alone.
 */
export function createTracesBySessionLoader(ctx: ServiceContext) {
  return new DataLoader<SessionTracesKey, TraceConnectionParent, string>(
    async (keys) => {
      const byPage = new Map<string, number[]>();
      keys.forEach((k, i) => {
        const page = JSON.stringify(pageOf(k));
        const list = byPage.get(page);
        if (list) list.push(i);
        else byPage.set(page, [i]);
      });
      const out: (TraceConnectionParent | Error)[] = new Array(keys.length);
      const settle = async (indexes: number[], answer: () => Promise<TraceConnectionParent[]>) => {
        try {
          const pages = await answer();
          indexes.forEach((i, n) => (out[i] = pages[n]!));
        } catch (err) {
          for (const i of indexes) out[i] = err as Error;
        }
      };
      const work: Promise<void>[] = [];
      for (const indexes of byPage.values()) {
        const first = keys[indexes[0]!]!;
        if (first.after != null || first.before != null) {
          for (const i of indexes) work.push(settle([i], async () => [await pageOfOneSession(ctx, keys[i]!)]));
        } else {
          const sessionIds = indexes.map((i) => keys[i]!.sessionId);
          work.push(settle(indexes, () => listFirstTracesOfSessions(ctx, { ...pageOf(first), sessionIds })));
        }
      }
      await Promise.all(work);
      return out;
    },
    { cacheKeyFn: (k) => JSON.stringify([k.sessionId, pageOf(k)]) },
  );
}
