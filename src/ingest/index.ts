import type { Logger } from 'pino';
import type { Config } from '../config';
import type { DatabaseHandle } from '../db/database';
import type { Authenticator } from '../auth/authenticator';
import { copyIngestedTraces, insertIngestedTraces, type IngestRow } from './ingest.repository';
import { PriceBook } from './price-book';
import { ProjectDirectory } from './project-directory';
import { SpanWriter } from './span-writer';
import { createOtlpReceiver, type OtlpReceiver } from './otlp-receiver';
import { preloadOtlpTypes } from './otlp-decode';
import { ingestSpansTotal, observeIngestQueue } from '../telemetry/metrics';

/** OTLP ingestion's long-lived parts: the write queue, prices and project lists, the HTTP handler. */
export interface IngestServices {
  readonly writer: SpanWriter;
  readonly prices: PriceBook;
  readonly projects: ProjectDirectory;
  readonly receiver: OtlpReceiver;
  /** Writes what is queued, then refuses new work. */
  stop(): Promise<void>;
}

export function createIngestServices(deps: { config: Config; database: DatabaseHandle; logger: Logger; authenticator: Authenticator }): IngestServices {
  const { config, database, logger } = deps;
  preloadOtlpTypes();
  const c = config.ingest;
  // Plain PostgreSQL: COPY through a staging table (unique id, no NOT EXISTS). TimescaleDB modes
  // keep the unnest statement (its NOT EXISTS is what keeps ids single there; COPY FROM STDIN
  // hangs behind the embedded database's socket server, see db/seed/sinks.ts).
  const insert = database.mode === 'postgres' ? (rows: readonly IngestRow[]) => copyIngestedTraces(database.pool, rows) : (rows: readonly IngestRow[]) => insertIngestedTraces(database.db, rows);
  const writer = new SpanWriter(insert, {
    maxBatchRows: c.batchMaxSpans,
    maxQueuedRows: c.queueMaxSpans,
    maxQueuedBytes: c.queueMaxBytes,
    // PGlite has one connection: a second statement would only queue behind the first.
    concurrency: database.mode === 'embedded' ? 1 : Math.min(c.writers, config.database.pool.max),
    logger,
  });
  const prices = new PriceBook(database.db);
  const projects = new ProjectDirectory(database.db);
  const metrics = config.telemetry.metrics.enabled;
  const unobserve = metrics ? observeIngestQueue(() => writer.queued()) : () => undefined;
  const receiver = createOtlpReceiver({
    onOutcome: metrics
      ? (o) => {
          if (o.accepted) ingestSpansTotal.inc({ outcome: 'accepted' }, o.accepted);
          if (o.rejected) ingestSpansTotal.inc({ outcome: 'rejected' }, o.rejected);
          if (o.skipped) ingestSpansTotal.inc({ outcome: 'skipped' }, o.skipped);
          if (o.refused) ingestSpansTotal.inc({ outcome: 'refused' }, o.refused);
        }
      : undefined,
    authenticator: deps.authenticator,
    writer,
    prices,
    projects,
    logger,
    options: { maxBodyBytes: c.maxBodyBytes, nonLlmSpans: c.nonLlmSpans, maxContentChars: c.maxContentChars, maxAgeMs: c.maxAgeMs, maxFutureMs: c.maxFutureMs },
  });
  return {
    writer,
    prices,
    projects,
    receiver,
    async stop() {
      await writer.stop();
      unobserve();
    },
  };
}
