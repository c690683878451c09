import pino, { type Logger } from 'pino';
import type { Config } from './config';

/** Structured JSON logs; human-readable in development when pino-pretty is installed. */
export function createLogger(config: Pick<Config, 'logLevel' | 'env'>): Logger {
  let transport: pino.TransportSingleOptions | undefined;
  if (config.env === 'development' && process.stdout.isTTY) {
    try {
      require.resolve('pino-pretty');
      transport = { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } };
    } catch {
      transport = undefined;
    }
  }
  return pino({ level: config.logLevel, base: { service: 'analytics-gateway' }, transport });
}
