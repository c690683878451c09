import type http from 'node:http';
import type { Logger } from 'pino';
import { recordHttpRequest } from '../telemetry/http-metrics';

export type AccessLogLevel = 'silent' | 'debug' | 'info';

/** One request as it finished (or was aborted): what the metric and the access log line get. */
export interface FinishedRequest {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** The bounded route label (telemetry/labels.ts endpointOf). */
  readonly endpoint: string;
  readonly requestId: string;
  /** performance.now() when the request arrived. */
  readonly started: number;
  readonly traceId: string | undefined;
}

export interface RequestRecorderOptions {
  readonly logger: Logger;
  readonly metrics: boolean;
  readonly level: AccessLogLevel;
}

// Probes and scrapes arrive every few seconds: they are logged at debug only.
const busyEndpoint = (endpoint: string) => endpoint === '/graphql' || endpoint === '/v1/traces' || endpoint === 'other';

/** Counts and times a finished (or aborted: status 499) request; writes the access log line. */
export function createRequestRecorder(opts: RequestRecorderOptions): (finished: FinishedRequest) => void {
  const accessLog = opts.level === 'silent' ? null : opts.level;
  return ({ req, res, endpoint, requestId, started, traceId }) => {
    const seconds = (performance.now() - started) / 1000;
    const status = res.headersSent ? res.statusCode : 499;
    const requestBytes = Number(req.headers['content-length'] ?? 0) || 0;
    const responseBytes = Number(res.getHeader('content-length') ?? 0) || 0;
    if (opts.metrics) recordHttpRequest(endpoint, status, seconds, requestBytes, responseBytes);
    const level = accessLog && (busyEndpoint(endpoint) ? accessLog : 'debug');
    if (!level || !opts.logger.isLevelEnabled(level)) return;
    opts.logger[level](
      { requestId, traceId, method: req.method, path: endpoint === 'other' ? undefined : endpoint, status, durationMs: Math.round(seconds * 10000) / 10, requestBytes, responseBytes },
      'request',
    );
  };
}
