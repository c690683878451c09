import type { Logger } from 'pino';
import type { HttpDrain } from './drain';

export interface ShutdownSteps {
  readonly drain: Pick<HttpDrain, 'drain'>;
  /** SHUTDOWN_DRAIN_DELAY_MS: readiness fails this long before the listener closes. */
  readonly drainDelayMs: number;
  readonly logger: Logger;
  /** Run in order once HTTP is drained (the ingest queue's flush, then Apollo). */
  readonly afterDrain: ReadonlyArray<() => Promise<unknown> | undefined>;
}

/**
 * Drain (see drain.ts): readiness 503 at once; after the drain delay the listener closes,
 * answers carry `Connection: close` and idle sockets are closed; resolved as soon as every
 * request is answered (the rest cut at `deadlineMs`); then the steps after the drain, in order.
 */
export function createShutdown(steps: ShutdownSteps): (deadlineMs: number) => Promise<void> {
  return async (deadlineMs) => {
    const { cut } = await steps.drain.drain({ delayMs: steps.drainDelayMs, deadlineMs });
    if (cut > 0) steps.logger.warn({ cut, deadlineMs }, 'shutdown deadline reached: requests still in flight were cut');
    for (const step of steps.afterDrain) await step();
  };
}
