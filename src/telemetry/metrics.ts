import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric the gateway exports, in one registry.
 *
 * prom-client rather than the OpenTelemetry Prometheus exporter: the seed's names and label
 * sets come out exactly as written (the OTel exporter rewrites names, adds unit suffixes and
 * `otel_scope_*` labels, and its histograms are aggregated through views), pull-time gauges for
 * the pg pools are a plain `collect()`, and an increment on the request path is a map lookup
 * instead of the OTel SDK's attribute hashing and aggregation pipeline. Traces stay OTel.
 *
 * The registry is a process singleton so that later features (cache, rate limits, pricing)
 * import the objects below and only increment them. Label values are bounded: see labels.ts.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SIZE_BUCKETS = [128, 512, 2048, 8192, 32768, 131072, 524288, 1048576, 4194304];

// HTTP -----------------------------------------------------------------------------------------

export const httpRequestsTotal = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests answered, by route and status code',
  labelNames: ['endpoint', 'status'] as const,
  registers: [metricsRegistry],
});

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time from request arrival to the last byte of the response',
  labelNames: ['endpoint'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

export const httpRequestSize = new Histogram({
  name: 'http_request_size_bytes',
  help: 'Request body size',
  labelNames: ['endpoint'] as const,
  buckets: SIZE_BUCKETS,
  registers: [metricsRegistry],
});

export const httpResponseSize = new Histogram({
  name: 'http_response_size_bytes',
  help: 'Response body size',
  labelNames: ['endpoint'] as const,
  buckets: SIZE_BUCKETS,
  registers: [metricsRegistry],
});

// Database -------------------------------------------------------------------------------------

export const dbQueryDuration = new Histogram({
  name: 'db_query_duration_seconds',
  help: 'Statement duration by query name (the /* name */ comment repositories append, else the first keyword)',
  labelNames: ['query'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

export const dbQueriesTotal = new Counter({
  name: 'db_queries_total',
  help: 'Statements run, by kind (select, insert, update, delete, other)',
  labelNames: ['operation'] as const,
  registers: [metricsRegistry],
});

export const dbErrorsTotal = new Counter({
  name: 'db_errors_total',
  help: 'Failed statements and connection acquisitions, by error type',
  labelNames: ['error_type'] as const,
  registers: [metricsRegistry],
});

// Pool gauges are read from the live pg.Pool objects on each scrape, never on the request path.
export interface PoolStats {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: { readonly max?: number };
}
const observedPools = new Set<{ role: string; pool: PoolStats }>();

/** Reports a pool under `role` (primary, replica) until the returned function is called. */
export function observePool(role: string, pool: PoolStats): () => void {
  const entry = { role, pool };
  observedPools.add(entry);
  return () => observedPools.delete(entry);
}

function poolGauge(name: string, help: string, read: (p: PoolStats) => number): Gauge<'pool'> {
  return new Gauge({
    name,
    help,
    labelNames: ['pool'] as const,
    registers: [metricsRegistry],
    collect() {
      this.reset();
      // Summed per role: two gateways in one process (tests) each add their pools.
      const sums = new Map<string, number>();
      for (const { role, pool } of observedPools) sums.set(role, (sums.get(role) ?? 0) + read(pool));
      for (const [role, value] of sums) this.set({ pool: role }, value);
    },
  });
}

export const dbPoolSize = poolGauge('db_pool_size', 'Configured maximum connections of the pool', (p) => p.options.max ?? 10);
export const dbPoolConnections = poolGauge('db_pool_connections', 'Open connections of the pool (idle and in use)', (p) => p.totalCount);
export const dbPoolIdle = poolGauge('db_pool_idle', 'Idle connections of the pool', (p) => p.idleCount);
export const dbPoolWaiting = poolGauge('db_pool_waiting', 'Callers queued for a connection of the pool', (p) => p.waitingCount);
export const dbPoolInUse = poolGauge('db_pool_in_use', 'Connections of the pool running a statement or transaction', (p) => p.totalCount - p.idleCount);
// Busy, not dead: readiness stays up while this is 1 (the database answers on its own connection).
export const dbPoolSaturated = poolGauge('db_pool_saturated', '1 while every connection of the pool is in use (new statements queue)', (p) =>
  p.totalCount - p.idleCount >= (p.options.max ?? 10) ? 1 : 0,
);

// Availability -------------------------------------------------------------------------------

export const authStaleServedTotal = new Counter({
  name: 'auth_stale_served_total',
  help: 'Requests authenticated from an expired credential memo because the database could not answer',
  registers: [metricsRegistry],
});

const observedCircuits = new Set<() => { state: string; opened: number }>();

/** Reports a Redis circuit breaker until the returned function is called. */
export function observeRedisCircuit(read: () => { state: string; opened: number }): () => void {
  observedCircuits.add(read);
  return () => observedCircuits.delete(read);
}

export const redisCircuitOpen = new Gauge({
  name: 'redis_circuit_open',
  help: '1 while the Redis circuit breaker is open (limits and cache use their fallbacks without asking Redis)',
  registers: [metricsRegistry],
  collect() {
    let open = 0;
    for (const read of observedCircuits) if (read().state === 'open') open = 1;
    this.set(open);
  },
});

export const redisCircuitOpenedTotal = new Counter({
  name: 'redis_circuit_opened_total',
  help: 'Times the Redis circuit breaker opened after consecutive command timeouts',
  registers: [metricsRegistry],
});

// GraphQL --------------------------------------------------------------------------------------

export const graphqlOperationsTotal = new Counter({
  name: 'graphql_operations_total',
  help: 'GraphQL operations, by operation name (bounded) and type',
  labelNames: ['operation', 'type'] as const,
  registers: [metricsRegistry],
});

export const graphqlOperationCost = new Histogram({
  name: 'graphql_operation_cost',
  help: 'Priced complexity points per operation',
  labelNames: ['type'] as const,
  buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000],
  registers: [metricsRegistry],
});

export const graphqlResolverErrorsTotal = new Counter({
  name: 'graphql_resolver_errors_total',
  help: 'Errors raised while executing fields, by error code',
  labelNames: ['code'] as const,
  registers: [metricsRegistry],
});

// Cache and rate limits: registered here, incremented by those features ----------------------

export const cacheHitsTotal = new Counter({
  name: 'cache_hits_total',
  help: 'Per-field cache hits, by resource (root field)',
  labelNames: ['resource'] as const,
  registers: [metricsRegistry],
});

export const cacheMissesTotal = new Counter({
  name: 'cache_misses_total',
  help: 'Per-field cache misses, by resource (root field)',
  labelNames: ['resource'] as const,
  registers: [metricsRegistry],
});

export const cacheSizeBytes = new Gauge({
  name: 'cache_size_bytes',
  help: 'Bytes held by the field cache',
  registers: [metricsRegistry],
});

export const rateLimitExceededTotal = new Counter({
  name: 'rate_limit_exceeded_total',
  help: 'Operations refused for lack of budget, by role',
  labelNames: ['role'] as const,
  registers: [metricsRegistry],
});

export const rateLimitRemaining = new Histogram({
  name: 'rate_limit_remaining',
  help: 'Budget points left after each priced operation, by role',
  labelNames: ['role'] as const,
  buckets: [0, 10, 100, 500, 1000, 5000, 10000, 50000, 100000, 120000],
  registers: [metricsRegistry],
});

// Exports ------------------------------------------------------------------------------------

export const exportJobsTotal = new Counter({
  name: 'export_jobs_total',
  help: 'Export jobs by outcome: created, succeeded, failed (after the last attempt), retried, cancelled, expired, restarted (stalled worker)',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});

export const exportRowsTotal = new Counter({
  name: 'export_rows_total',
  help: 'Rows written to export files (attempts that were retried count again)',
  registers: [metricsRegistry],
});

export const exportDurationSeconds = new Histogram({
  name: 'export_duration_seconds',
  help: 'Duration of export attempts, by format and outcome',
  labelNames: ['format', 'outcome'] as const,
  buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  registers: [metricsRegistry],
});

type QueueDepthReader = () => Promise<{ queued: number; active: number }>;
const exportQueues = new Set<QueueDepthReader>();

/** Reports the export queue's depth on each scrape until the returned function is called. */
export function observeExportQueue(read: QueueDepthReader): () => void {
  exportQueues.add(read);
  return () => exportQueues.delete(read);
}

export const exportQueueDepth = new Gauge({
  name: 'export_queue_depth',
  help: 'Export jobs in the queue, by state (queued: waiting or between retries; active: running)',
  labelNames: ['state'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    // One reader per database is enough (every instance sees the same queue).
    const [read] = [...exportQueues];
    if (!read) return;
    try {
      const d = await read();
      this.set({ state: 'queued' }, d.queued);
      this.set({ state: 'active' }, d.active);
    } catch {
      // A database that cannot answer leaves the gauge empty for this scrape.
    }
  },
});

/** The text exposition and its content type, for the /metrics route. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

// Embedded database ------------------------------------------------------------------------------

type EmbeddedMemoryReader = () => Promise<{ wasmBytes: number; workerHeapUsedBytes: number; relayPendingBytes: number; lostAnswers?: number } | null>;
let readEmbeddedMemory: EmbeddedMemoryReader | undefined;

/** The embedded database's memory (README, Memory): read from its worker at scrape time. */
export function observeEmbeddedMemory(reader: EmbeddedMemoryReader | undefined): () => void {
  readEmbeddedMemory = reader;
  return () => {
    if (readEmbeddedMemory === reader) readEmbeddedMemory = undefined;
  };
}

export const embeddedMemoryBytes = new Gauge({
  name: 'gateway_embedded_memory_bytes',
  help: "Embedded mode: PGlite's WebAssembly memory (wasm), the worker thread's V8 heap (worker_heap) and partial protocol messages held by its relay (relay)",
  labelNames: ['part'] as const,
  registers: [metricsRegistry],
  async collect() {
    const m = readEmbeddedMemory ? await readEmbeddedMemory() : null;
    if (!m) return;
    this.set({ part: 'wasm' }, m.wasmBytes);
    this.set({ part: 'worker_heap' }, m.workerHeapUsedBytes);
    this.set({ part: 'relay' }, m.relayPendingBytes);
    // Same answer of the worker: one round trip per scrape for both gauges.
    embeddedLostAnswers.set(m.lostAnswers ?? 0);
  },
});

export const embeddedLostAnswers = new Gauge({
  name: 'gateway_embedded_lost_answers',
  help: 'Embedded mode: requests the embedded database answered only in part since it started; its worker finished each with an error (SQLSTATE 08P01, a coded 503) instead of leaving the connection waiting. Should stay 0. Set when gateway_embedded_memory_bytes is read.',
  registers: [metricsRegistry],
});

// OTLP ingestion (src/ingest) ------------------------------------------------------------------

export const ingestSpansTotal = new Counter({
  name: 'ingest_spans_total',
  help: 'Spans received on POST /v1/traces by outcome: accepted (written or already there), rejected (partial_success), skipped (non-LLM spans dropped), refused (whole request answered 4xx/5xx after decoding)',
  labelNames: ['outcome'],
  registers: [metricsRegistry],
});

const observedWriters = new Set<() => { queuedRows: number }>();

/** Reports an ingestion write queue until the returned function is called. */
export function observeIngestQueue(read: () => { queuedRows: number }): () => void {
  observedWriters.add(read);
  return () => observedWriters.delete(read);
}

export const ingestQueueSpans = new Gauge({
  name: 'ingest_queue_spans',
  help: 'Spans waiting in or being written by the ingestion write queue',
  registers: [metricsRegistry],
  collect() {
    let n = 0;
    for (const read of observedWriters) n += read().queuedRows;
    this.set(n);
  },
});
