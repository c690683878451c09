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

/** The selection sets reached by following `path` (field names) below the current field, fragments followed. */
function subSelections(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, path: readonly string[]): SelectionSetNode[] {
  let sets: SelectionSetNode[] = info.fieldNodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
  for (const name of path) {
    const next: SelectionSetNode[] = [];
    const visit = (set: SelectionSetNode, seen: Set<string>) => {
      for (const sel of set.selections) {
        if (sel.kind === 'Field') {
          if (sel.name.value === name && sel.selectionSet) next.push(sel.selectionSet);
        } else if (sel.kind === 'InlineFragment') visit(sel.selectionSet, seen);
        else if (!seen.has(sel.name.value)) {
          seen.add(sel.name.value);
          const frag = info.fragments[sel.name.value];
          if (frag) visit(frag.selectionSet, seen);
        }
      }
    };
    for (const s of sets) visit(s, new Set());
    sets = next;
  }
  return sets;
}

/** Whether any field named in `names` is selected somewhere below `path`. */
export function selectsAnyFieldUnder(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, path: readonly string[], names: ReadonlySet<string>): boolean {
  return subSelections(info, path).some((set) => selectsAnyField({ fieldNodes: [{ selectionSet: set } as never], fragments: info.fragments }, names));
}

/** Which parts of a PerformanceReport-like answer (totals, groups, series, groups' series) select a percentile. */
export function percentileLevelsOf(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) {
  return {
    total: selectsAnyFieldUnder(info, ['totals'], PERCENTILE_FIELDS),
    // `other` merges the histograms of the groups past groupLimit: it needs the group levels.
    group: selectsAnyFieldUnder(info, ['groups', 'stats'], PERCENTILE_FIELDS) || selectsAnyFieldUnder(info, ['other', 'stats'], PERCENTILE_FIELDS),
    series: selectsAnyFieldUnder(info, ['series'], PERCENTILE_FIELDS),
    groupSeries: selectsAnyFieldUnder(info, ['groups', 'series'], PERCENTILE_FIELDS) || selectsAnyFieldUnder(info, ['other', 'series'], PERCENTILE_FIELDS),
  };
}

/** Whether the field at `path` (an object field) is selected below the current field. */
export const selectsPath = (info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>, path: readonly string[]) => subSelections(info, path).length > 0;

// Histogram percentiles are clamped to the slowest and fastest call: they read the duration sums too.
const DURATION_FIELDS: ReadonlySet<string> = new Set(['avgMs', 'minMs', 'maxMs', 'tokensPerSecond', ...PERCENTILE_FIELDS]);
const TTFT_FIELDS: ReadonlySet<string> = new Set(['ttftAvgMs', 'ttftMinMs', 'ttftMaxMs']);
const TOKEN_FIELDS: ReadonlySet<string> = new Set(['promptTokens', 'completionTokens', 'totalTokens', 'tokensPerSecond']);

/**
 * Which groups of sums a PerformanceReport's selected fields read (PerformanceStats has no cost
 * field): a field name anywhere below the report counts, whichever part (totals, groups,
 * series, other) it is under.
 */
export function performanceColumnsOf(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) {
  return {
    duration: selectsAnyField(info, DURATION_FIELDS),
    ttft: selectsAnyField(info, TTFT_FIELDS),
    tokens: selectsAnyField(info, TOKEN_FIELDS),
    cost: false,
  };
}

const COST_FIELDS: ReadonlySet<string> = new Set(['totalUsd', 'promptUsd', 'completionUsd', 'costPerRequestUsd', 'costPer1kTokensUsd', 'changeRatio']);
const COST_TOKEN_FIELDS: ReadonlySet<string> = new Set(['promptTokens', 'completionTokens', 'cachedTokens', 'totalTokens', 'costPer1kTokensUsd']);

/**
 * Which groups of sums a CostReport's selected fields read: CostStats has no latency or TTFT
 * field; `changeRatio` compares the totals' cost. (previousPeriod, monthToDate and topSpenders
 * run their own questions; their fields count here too, which only reads more.)
 */
export function costColumnsOf(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) {
  return { duration: false, ttft: false, tokens: selectsAnyField(info, COST_TOKEN_FIELDS), cost: selectsAnyField(info, COST_FIELDS) };
}

const COMPARISON_COST_FIELDS: ReadonlySet<string> = new Set(['totalCostUsd', 'costPerRequestUsd', 'costPer1kTokensUsd']);
const COMPARISON_TOKEN_FIELDS: ReadonlySet<string> = new Set(['tokensPerSecond', 'costPer1kTokensUsd']);

/** Which groups of sums a ModelComparisonReport's selected fields read. */
export function comparisonColumnsOf(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) {
  return {
    duration: selectsAnyField(info, DURATION_FIELDS),
    ttft: selectsAnyField(info, new Set(['ttftAvgMs'])),
    tokens: selectsAnyField(info, COMPARISON_TOKEN_FIELDS),
    cost: selectsAnyField(info, COMPARISON_COST_FIELDS),
  };
}

/** Whether a report's answer reads its groups' series (or the `other` group's). */
export const selectsGroupSeries = (info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) =>
  selectsPath(info, ['groups', 'series']) || selectsPath(info, ['other', 'series']);

/** Whether a report's answer reads any series: its own, its groups' or the `other` group's. */
export const selectsSeries = (info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) => selectsPath(info, ['series']) || selectsGroupSeries(info);
