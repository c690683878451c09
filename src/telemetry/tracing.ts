import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import type { Config } from '../config';
import { enableRequestSpans } from './http-tracing';

export interface TracingOptions {
  /** Tests pass an in-memory exporter here; production leaves it to the OTEL_* variables. */
  readonly spanProcessors?: SpanProcessor[];
}

export interface Tracing {
  /** Flushes pending spans; called last on shutdown. */
  shutdown(): Promise<void>;
}

let running: { sdk: NodeSDK; tracing: Tracing } | null = null;
const noop: Tracing = { shutdown: async () => undefined };

/**
 * Starts the OpenTelemetry NodeSDK. It must run before pg and redis are first required (see
 * register.ts), because their instrumentations patch the modules as they load.
 *
 * The SDK starts only when spans have somewhere to go: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT or
 * OTEL_TRACES_EXPORTER is set. It then configures exporter, protocol, sampler and batching from
 * the standard OTEL_* variables itself. Otherwise nothing is started and nothing leaves the
 * process: no context manager either, whose AsyncLocalStorage promise hooks alone cost ~10% of
 * a small request's CPU on Node 20 (the access log still carries the caller's traceparent id).
 * Metrics go through prom-client (metrics.ts), so the SDK's metric and log pipelines are
 * switched off explicitly rather than left at their OTLP defaults.
 *
 * HTTP server spans come from http/request-handler.ts (http-tracing.ts), GraphQL operation spans from our
 * Apollo plugin (graphql-telemetry.ts); pg and Redis spans from the instrumentations below.
 */
export function startTracing(config: Config, options: TracingOptions = {}): Tracing {
  if (running) return running.tracing;
  const tracing = config.telemetry.tracing;
  if (!tracing.enabled || (!tracing.exportConfigured && !options.spanProcessors)) return noop;

  const sdk = new NodeSDK({
    serviceName: tracing.serviceName,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // Statement text is parameterised SQL; values stay out (enhancedDatabaseReporting off).
      // No sqlcommenter and no traceparent-in-application_name: both put per-request text or
      // session state on the connection, which breaks pg_stat_statements grouping and PgBouncer
      // transaction pooling. Only statements inside a traced request make spans.
      // Pool checkouts get no spans of their own (one more span per transaction, measured in
      // bench/telemetry-overhead.ts): pool waits show in db_pool_waiting and acquire timeouts.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false, ignoreConnectSpans: true }),
      new RedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  enableRequestSpans(true);
  const handle: Tracing = {
    async shutdown() {
      if (running?.sdk !== sdk) return;
      running = null;
      enableRequestSpans(false);
      await sdk.shutdown();
    },
  };
  running = { sdk, tracing: handle };
  return handle;
}

/** Shuts down whatever startTracing started (main.ts, after the pools are closed). */
export async function shutdownTracing(): Promise<void> {
  await running?.tracing.shutdown();
}
