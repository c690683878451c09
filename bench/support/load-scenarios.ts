/**
 * The operations of `npm run bench:load` (the seed's load table): what dashboards send, as
 * named operations without aliases, so that the stock-Apollo comparison can answer the same
 * shapes from memory with default resolvers.
 */

export interface LoadOperation {
  /** Short label for reports. */
  readonly name: string;
  readonly query: string;
  /** Variables for each request (the trace-detail operation takes an id). */
  readonly variables?: (env: { readonly traceIds: readonly string[]; readonly rand: () => number }) => Record<string, unknown>;
  /** Relative weight in a mix. */
  readonly weight: number;
}

const TRACE_FIELDS = 'id timestamp projectId provider model status durationMs totalTokens totalCostUsd';

export const TRACE_LIST: LoadOperation = {
  name: 'traceList',
  query: `query TraceList { traces(first: 50) { nodes { ${TRACE_FIELDS} } pageInfo { hasNextPage endCursor } } }`,
  weight: 1,
};

/** Five dashboard aggregations (the seed's "aggregations" row). */
export const AGGREGATIONS: LoadOperation[] = [
  {
    name: 'latencyByModel',
    query: `query LatencyByModel { performance(range: {last: "24h"}, groupBy: [MODEL], interval: HOUR) { totals { requestCount errorRate latency { p50Ms p95Ms } } groups { key { model } stats { requestCount errorRate latency { p95Ms } } } } }`,
    weight: 1,
  },
  {
    name: 'spendByProvider',
    query: `query SpendByProvider { costs(range: {last: "7d"}, groupBy: [PROVIDER], interval: DAY) { totals { totalUsd requestCount totalTokens } groups { key { provider } stats { totalUsd } } series { timestamp stats { totalUsd } } } }`,
    weight: 1,
  },
  {
    name: 'quality',
    query: `query QualityWeek { quality(range: {last: "7d"}) { traceCount tracesWithScores scores { name count mean } } }`,
    weight: 1,
  },
  {
    name: 'compareModels',
    query: `query CompareModels { compareModels(models: ["gpt-4o", "claude-sonnet-4", "gemini-1.5-pro"], range: {last: "7d"}) { models { model requestCount errorRate latency { p95Ms } costPerRequestUsd } } }`,
    weight: 1,
  },
  {
    name: 'lastHour',
    query: `query LastHour { performance(range: {last: "1h"}) { totals { requestCount errorCount latency { p50Ms p95Ms p99Ms } } } }`,
    weight: 1,
  },
];

/**
 * The mixed row: mostly cacheable panels (lists, aggregations, trace detail by id from a pool
 * large enough to keep missing for a while), plus uncached fields that always run.
 */
export const MIXED: LoadOperation[] = [
  { ...TRACE_LIST, weight: 12 },
  { name: 'tracesByCost', query: `query TracesByCost { traces(first: 20, orderBy: {field: COST}) { nodes { id model totalCostUsd } } }`, weight: 5 },
  { name: 'errorTraces', query: `query ErrorTraces { traces(first: 20, filter: {status: ERROR}) { nodes { id model errorType timestamp } } }`, weight: 5 },
  { name: 'recentCount', query: `query RecentCount { traces(first: 50, filter: {last: "1h"}) { totalCount nodes { id } } }`, weight: 4 },
  ...AGGREGATIONS.map((a) => ({ ...a, weight: 5 })),
  { name: 'spendByModel', query: `query SpendByModel { costs(range: {last: "30d"}, groupBy: [MODEL], groupLimit: 10) { groups { key { model } stats { totalUsd requestCount } } } }`, weight: 3 },
  { name: 'throughput', query: `query Throughput { performance(range: {last: "6h"}, groupBy: [PROVIDER], interval: FIFTEEN_MINUTES) { series { timestamp stats { requestCount } } } }`, weight: 3 },
  { name: 'topSpenders', query: `query TopSpenders { costs(range: {last: "24h"}) { totals { totalUsd } topSpenders(by: USER, limit: 5) { key { userId } stats { totalUsd } } } }`, weight: 2 },
  {
    name: 'traceDetail',
    query: `query TraceDetail($id: ID!) { trace(id: $id) { ${TRACE_FIELDS} promptTokens completionTokens scores { name value } } }`,
    variables: ({ traceIds, rand }) => ({ id: traceIds[Math.floor(rand() * traceIds.length)] }),
    weight: 15,
  },
  { name: 'viewer', query: `query Viewer { viewer { orgId role projectIds } rateLimit { currentlyAvailable } }`, weight: 4 },
  { name: 'projects', query: `query Projects { projects { id name } }`, weight: 3 },
];
