import { randomBytes } from 'node:crypto';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { DatabaseHandle } from '../../db/database';
import { exportJobsTotal, observeExportQueue } from '../../telemetry/metrics';
import { EXPORT_QUEUE, SWEEP_QUEUE, poolExecutor, queueDepth, sendExportJob, startBoss, transactionExecutor, type ExportJobData } from './export-queue';
import { LocalExportStorage, type ExportStorage } from './export-storage';
import { S3ExportStorage } from './s3-storage';
import { runExportAttempt, type RunnerDeps } from './export-runner';
import { findExpiredExportJobs, markExportExpired, sharedSecret, takeStalledExportJobs } from './exports.repository';

/**
 * The export machinery of one gateway instance: the pg-boss queue on the gateway's database,
 * this instance's workers (EXPORT_CONCURRENCY; one on the embedded database, whose single
 * connection every request shares), the storage, and the sweeps: expired files (a pg-boss cron
 * job, run by one instance per minute) and stalled jobs (any instance, atomically claimed).
 */
export interface ExportSystem {
  readonly boss: PgBoss;
  readonly storage: ExportStorage;
  readonly signingSecret: string;
  readonly concurrency: number;
  /** Queues the pg-boss job of a new export inside the transaction that inserts its row. */
  enqueue(trx: Parameters<typeof transactionExecutor>[0], exportId: string, bossJobId: string): Promise<void>;
  /** Wakes this instance's workers now instead of at their next poll. */
  nudge(): void;
  cancelQueued(trx: Parameters<typeof transactionExecutor>[0], bossJobId: string): Promise<void>;
  /** Stops this instance's workers from taking jobs (running ones finish), and starts them again. */
  pauseWorkers(): Promise<void>;
  resumeWorkers(): Promise<void>;
  /** Restarts stalled jobs now (also runs on a timer). */
  restartStalled(): Promise<number>;
  /** Deletes files past their lifetime now (also the scheduled job's work). */
  sweepExpired(): Promise<number>;
  /** The last sampled depth (every 5 s); throws when the queue has not been readable for 15 s. */
  depth(): Promise<{ queued: number; active: number }>;
  stop(): Promise<void>;
}

export function createExportStorage(config: Config): ExportStorage {
  const s = config.exports.storage;
  return s.kind === 's3' ? new S3ExportStorage(s) : new LocalExportStorage(s.dir);
}

export async function startExportSystem(
  deps: { config: Config; database: DatabaseHandle; logger: Logger },
  opts: { storage?: ExportStorage } = {},
): Promise<ExportSystem> {
  const { config, database } = deps;
  const logger = deps.logger.child({ component: 'exports' });
  const ec = config.exports;
  const settings = { retryLimit: ec.retryLimit, retryDelaySeconds: ec.retryDelaySeconds, jobTimeoutSeconds: ec.jobTimeoutSeconds };
  const storage = opts.storage ?? createExportStorage(config);
  const signingSecret = ec.signingSecret ?? (await sharedSecret(database.db, 'export_download_signing', randomBytes(32).toString('base64url')));
  const boss = await startBoss(database.pool, logger, settings, { schedule: true });
  const metrics = config.telemetry.metrics.enabled;
  const concurrency = database.mode === 'embedded' ? 1 : ec.concurrency;
  const runner: RunnerDeps = { db: database.db, storage, config: ec, logger, metrics, copyPool: database.mode === 'embedded' ? undefined : database.pool };
  const inFlight = new Map<string, AbortController>();
  const workerIds: string[] = [];

  async function startWorkers() {
    while (workerIds.length < concurrency) {
      const id = await boss.work<ExportJobData>(EXPORT_QUEUE, { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: 1 }, async ([job]) => {
        if (!job) return;
        const abort = new AbortController();
        inFlight.set(job.id, abort);
        const deadline = setTimeout(() => abort.abort(`the attempt ran past EXPORT_JOB_TIMEOUT_S (${ec.jobTimeoutSeconds} s)`), ec.jobTimeoutSeconds * 1000);
        try {
          await runExportAttempt(runner, { exportId: job.data.exportId, bossJobId: job.id, retryCount: job.retryCount, retryLimit: job.retryLimit }, abort.signal);
        } finally {
          clearTimeout(deadline);
          inFlight.delete(job.id);
        }
      });
      workerIds.push(id);
    }
  }
  if (ec.workerEnabled) await startWorkers();

  async function restartStalled(): Promise<number> {
    let restarted = 0;
    await database.db.transaction().execute(async (trx) => {
      const rows = await takeStalledExportJobs(trx, { stallMs: ec.stallTimeoutMs, maxAttempts: ec.retryLimit + 1, limit: 20 });
      const exec = transactionExecutor(trx);
      for (const r of rows) {
        if (r.old_boss_job_id) await boss.cancel(EXPORT_QUEUE, r.old_boss_job_id, { db: exec });
        if (r.status === 'PENDING' && r.boss_job_id) {
          await sendExportJob(boss, exec, r.id, r.boss_job_id, settings);
          restarted++;
        }
        if (metrics) exportJobsTotal.inc({ status: r.status === 'PENDING' ? 'restarted' : 'failed' });
        logger.warn({ exportId: r.id, status: r.status }, r.status === 'PENDING' ? 'stalled export restarted' : 'stalled export failed after its last attempt');
      }
    });
    if (restarted) nudge();
    return restarted;
  }

  async function sweepExpired(): Promise<number> {
    let removed = 0;
    for (const job of await findExpiredExportJobs(database.db, 100)) {
      if (job.file_key) await storage.remove(job.file_key);
      await markExportExpired(database.db, job.id);
      if (metrics) exportJobsTotal.inc({ status: 'expired' });
      removed++;
    }
    if (removed) logger.info({ removed }, 'expired export files deleted');
    return removed;
  }

  // The scheduled sweep: pg-boss's cron runs it once a minute on one instance.
  await boss.schedule(SWEEP_QUEUE, '* * * * *', {}, { retryLimit: 0 });
  const sweepWorker = await boss.work(SWEEP_QUEUE, { batchSize: 1, pollingIntervalSeconds: 5 }, async () => {
    await sweepExpired();
    await restartStalled();
  });
  // Stalled jobs are looked for more often than once a minute, and once right after a start.
  const stallTimer = setInterval(() => {
    restartStalled().catch((err) => logger.warn({ err }, 'stalled-export sweep failed'));
  }, Math.max(1000, Math.floor(ec.stallTimeoutMs / 2)));
  stallTimer.unref();

  // Depth is sampled in the background, never at probe or scrape time: a saturated pool must
  // not make readiness or /metrics wait (busy is not dead).
  let sampled: { queued: number; active: number; at: number } | undefined;
  let sampleError: unknown;
  const sample = () =>
    queueDepth(database.pool).then(
      (d) => {
        sampled = { ...d, at: Date.now() };
        sampleError = undefined;
      },
      (err) => {
        sampleError = err;
      },
    );
  await sample();
  const sampler = setInterval(() => void sample(), 5000);
  sampler.unref();
  const depth = async () => {
    if (!sampled || (sampleError && Date.now() - sampled.at > 15_000)) throw new Error('the export queue could not be read');
    return { queued: sampled.queued, active: sampled.active };
  };
  const unobserve = metrics ? observeExportQueue(depth) : () => undefined;

  function nudge() {
    for (const id of workerIds) boss.notifyWorker(id);
  }

  let stopped = false;
  return {
    boss,
    storage,
    signingSecret,
    concurrency,
    async enqueue(trx, exportId, bossJobId) {
      await sendExportJob(boss, transactionExecutor(trx), exportId, bossJobId, settings);
    },
    nudge,
    async cancelQueued(trx, bossJobId) {
      await boss.cancel(EXPORT_QUEUE, bossJobId, { db: transactionExecutor(trx) });
    },
    async pauseWorkers() {
      for (const id of workerIds.splice(0)) await boss.offWork({ id });
    },
    resumeWorkers: startWorkers,
    restartStalled,
    sweepExpired,
    depth,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(stallTimer);
      clearInterval(sampler);
      unobserve();
      // Running attempts stop at their next batch and go back to the queue (retried elsewhere
      // or after the next start); pg-boss waits for them, then fails whatever is still active.
      for (const abort of inFlight.values()) abort.abort('the gateway is shutting down');
      await boss.offWork(sweepWorker).catch(() => undefined);
      await boss.stop({ graceful: true, timeout: 10_000, close: false, wait: true }).catch((err) => logger.warn({ err }, 'stopping the export queue failed'));
      if (storage instanceof S3ExportStorage) storage.close();
    },
  };
}

export { poolExecutor };
