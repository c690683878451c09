import { httpRequestDuration, httpRequestSize, httpRequestsTotal, httpResponseSize } from './metrics';

interface EndpointSeries {
  duration: { observe(v: number): void };
  requestSize: { observe(v: number): void };
  responseSize: { observe(v: number): void };
  byStatus: Map<number, { inc(): void }>;
}

// Label children resolved once per endpoint (a fixed set) and status: on the request path an
// observation is then a map lookup, not prom-client's label validation and hashing.
const series = new Map<string, EndpointSeries>();

function seriesOf(endpoint: string): EndpointSeries {
  let s = series.get(endpoint);
  if (!s) {
    s = {
      duration: httpRequestDuration.labels({ endpoint }),
      requestSize: httpRequestSize.labels({ endpoint }),
      responseSize: httpResponseSize.labels({ endpoint }),
      byStatus: new Map(),
    };
    series.set(endpoint, s);
  }
  return s;
}

/** One finished request. `endpoint` must come from endpointOf (a bounded set). */
export function recordHttpRequest(endpoint: string, status: number, seconds: number, requestBytes: number, responseBytes: number): void {
  const s = seriesOf(endpoint);
  let counter = s.byStatus.get(status);
  if (!counter) {
    counter = httpRequestsTotal.labels({ endpoint, status: String(status) });
    s.byStatus.set(status, counter);
  }
  counter.inc();
  s.duration.observe(seconds);
  s.requestSize.observe(requestBytes);
  s.responseSize.observe(responseBytes);
}
