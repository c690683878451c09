import pino, { type Logger } from 'pino';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { Config } from './config';

/**
 * The active span's ids on every line, so a log line leads to its trace (and an incoming
 * `traceparent` shows up even when nothing is exported). Request ids come from child loggers.
 */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : {};
}

/** Structured JSON logs; human-readable in development when pino-pretty is installed. */
export function createLogger(config: Pick<Config, 'logLevel' | 'env'>, destination?: pino.DestinationStream): Logger {
  let transport: pino.TransportSingleOptions | undefined;
  if (!destination && config.env === 'development' && process.stdout.isTTY) {
    try {
      require.resolve('pino-pretty');
      transport = { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } };
    } catch {
      transport = undefined;
    }
  }
  const options: pino.LoggerOptions = { level: config.logLevel, base: { service: 'analytics-gateway' }, transport, mixin: traceFields };
  return destination ? pino(options, destination) : pino(options);
}
