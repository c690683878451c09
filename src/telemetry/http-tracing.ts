import type http from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';

/**
 * The HTTP server span, made here rather than by @opentelemetry/instrumentation-http: that
 * instrumentation wraps every request and response emitter, computes a few dozen attributes and
 * records its own metrics, which measured at about half of a small query's CPU time
 * (bench/telemetry-overhead.ts). One span with the attributes a tracing backend keys on costs a
 * fraction of it. W3C `traceparent`/`tracestate` are honoured through the global propagator.
 */
const tracer = trace.getTracer('analytics-gateway.http');
let enabled = false;

/** Called by startTracing once a tracer provider is registered. */
export function enableRequestSpans(on = true): void {
  enabled = on;
}

export function requestSpansEnabled(): boolean {
  return enabled;
}

/**
 * Runs the handling of one request inside its server span; the span ends when the response
 * closes. Returns the trace id (for the access log).
 */
export function runInServerSpan(req: http.IncomingMessage, res: http.ServerResponse, route: string, handle: () => void): string {
  const method = req.method ?? 'GET';
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan(
    `${method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': method,
        'http.route': route,
        'url.path': route, // the route, never the query string (GET documents and variables)
        'url.scheme': 'http',
        'server.port': req.socket.localPort ?? 0,
        'network.peer.address': req.socket.remoteAddress ?? '',
        'user_agent.original': req.headers['user-agent'] ?? '',
      },
    },
    parent,
  );
  res.once('close', () => {
    const status = res.headersSent ? res.statusCode : 499;
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(parent, span), handle);
  return span.spanContext().traceId;
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** Without tracing, the caller's trace id still goes on the access log line, for correlation. */
export function callerTraceId(req: http.IncomingMessage): string | undefined {
  const header = req.headers.traceparent;
  const id = typeof header === 'string' ? TRACEPARENT.exec(header.trim())?.[1] : undefined;
  return id && id !== '00000000000000000000000000000000' ? id : undefined;
}
