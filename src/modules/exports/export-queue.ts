import { CompiledQuery, type Kysely } from 'kysely';
import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Logger } from 'pino';

export const EXPORT_QUEUE = 'trace-export';
/** The scheduled sweep: expired files deleted, stalled jobs restarted. */
export const SWEEP_QUEUE = 'trace-export-sweep';
const PGBOSS_SCHEMA = 'pgboss';

export interface ExportJobData {
  exportId: string;
}

/**
 * pg-boss runs its statements through the gateway's own pool. Its worker loop calls
 * complete() and fail() without awaiting them (pg-boss 10, manager.js), so a rejection there
 * would be an unhandled rejection and end the process: those two statements are retried a few
 * times on failure (a saturated pool, a database restart) and then given up with a log line.
 * A job left active that way is failed by pg-boss's expiry and retried; the export's lease
 * keeps the outcome exact.
 */
export function poolExecutor(pool: pg.Pool, logger?: Logger): PgBoss.Db {
  return {
    executeSql: async (text, values) => {
      const settle = isSettlement(text);
      for (let attempt = 0; ; attempt++) {
        try {
          return (await pool.query(text, values)) as { rows: any[] };
        } catch (err) {
          if (!settle) throw err;
          if (attempt >= 4) {
            logger?.warn({ err }, 'export queue: could not record a job outcome; pg-boss expiry will retry the job');
            return { rows: [] };
          }
          await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
        }
      }
    },
  };
}

/** pg-boss's complete and fail statements (the ones its worker loop does not await). */
const isSettlement = (text: string) => /UPDATE \S+\.job\s+SET completed_on = now\(\),\s+state = 'completed'/.test(text) || text.includes('WITH deleted_jobs AS');

/** The same inside a Kysely transaction: a job is queued atomically with its export_jobs row. */
export function transactionExecutor(trx: Kysely<any>): PgBoss.Db {
  return {
    executeSql: async (text, values) => {
      const r = await trx.executeQuery(CompiledQuery.raw(text, values ?? []));
      return { rows: r.rows as any[] };
    },
  };
}

export interface QueueSettings {
  retryLimit: number;
  retryDelaySeconds: number;
  jobTimeoutSeconds: number;
}

/**
 * pg-boss (v10, the last line for Node 20) on the gateway's database. Jobs are rows in the
 * `pgboss` schema: they survive restarts, a job is fetched by one worker only (SKIP LOCKED),
 * failures are retried with exponential backoff. The worker's own deadline
 * (EXPORT_JOB_TIMEOUT_S) comes before pg-boss's expiry, which is only the backstop.
 */
export async function startBoss(pool: pg.Pool, logger: Logger, s: QueueSettings, opts: { schedule: boolean }): Promise<PgBoss> {
  const boss = new PgBoss({
    db: poolExecutor(pool, logger),
    schema: PGBOSS_SCHEMA,
    // Maintenance (expiry, archive) and cron run on one instance at a time (advisory locks).
    supervise: true,
    schedule: opts.schedule,
    migrate: true,
  });
  boss.on('error', (err) => logger.warn({ err }, 'export queue error'));
  await boss.start();
  await boss.createQueue(EXPORT_QUEUE, {
    name: EXPORT_QUEUE,
    policy: 'standard',
    retryLimit: s.retryLimit,
    retryDelay: s.retryDelaySeconds,
    retryBackoff: true,
    expireInSeconds: s.jobTimeoutSeconds + 300,
  });
  await boss.createQueue(SWEEP_QUEUE, { name: SWEEP_QUEUE, policy: 'singleton', retryLimit: 0, expireInSeconds: 300 });
  return boss;
}

export function sendExportJob(boss: PgBoss, db: PgBoss.Db, exportId: string, bossJobId: string, s: QueueSettings): Promise<string | null> {
  return boss.send(EXPORT_QUEUE, { exportId } satisfies ExportJobData, {
    id: bossJobId,
    singletonKey: exportId,
    retryLimit: s.retryLimit,
    retryDelay: s.retryDelaySeconds,
    retryBackoff: true,
    expireInSeconds: s.jobTimeoutSeconds + 300,
    db,
  });
}

/** Jobs waiting (created or retry) and running in the export queue. */
export async function queueDepth(pool: pg.Pool): Promise<{ queued: number; active: number }> {
  const { rows } = await pool.query<{ queued: string; active: string }>(
    `SELECT count(*) FILTER (WHERE state IN ('created', 'retry')) AS queued, count(*) FILTER (WHERE state = 'active') AS active
       FROM ${PGBOSS_SCHEMA}.job WHERE name = $1 /* exportQueueDepth */`,
    [EXPORT_QUEUE],
  );
  return { queued: Number(rows[0]?.queued ?? 0), active: Number(rows[0]?.active ?? 0) };
}
