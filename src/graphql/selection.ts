import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/**
 * Whether any field below the current one is named in `names` (fragments followed). Lets a
 * resolver skip work nobody asked for, e.g. latency histograms when no percentile is selected.
 */
export function selectsAnyField(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, names: ReadonlySet<string>): boolean {
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): boolean => {
    if (!set) return false;
    for (const sel of set.selections) {
      if (sel.kind === 'Field') {
        if (names.has(sel.name.value) || walk(sel.selectionSet)) return true;
      } else if (sel.kind === 'InlineFragment') {
        if (walk(sel.selectionSet)) return true;
      } else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        if (walk(info.fragments[sel.name.value]?.selectionSet)) return true;
      }
    }
    return false;
  };
  return info.fieldNodes.some((n) => walk(n.selectionSet));
}

export const PERCENTILE_FIELDS: ReadonlySet<string> = new Set(['p50Ms', 'p90Ms', 'p95Ms', 'p99Ms', 'p95LatencyMs']);
