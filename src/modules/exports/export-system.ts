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

type JobSettings = Parameters<typeof sendExportJob>[4];

/** This instance's export workers: at most `concurrency`, each running one attempt at a time. */
function createWorkers(boss: PgBoss, runner: RunnerDeps, ec: Config['exports'], concurrency: number) {
  const inFlight = new Map<string, AbortController>();
  const workerIds: string[] = [];
  const runJob = async ([job]: PgBoss.JobWithMetadata<ExportJobData>[]) => {
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
  };
  return {
    async start() {
      while (workerIds.length < concurrency) {
        workerIds.push(await boss.work<ExportJobData>(EXPORT_QUEUE, { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: 1 }, runJob));
      }
    },
    async pause() {
      for (const id of workerIds.splice(0)) await boss.offWork({ id });
    },
    nudge() {
      for (const id of workerIds) boss.notifyWorker(id);
    },
    /** Running attempts stop at their next batch and go back to the queue. */
    abortAll(reason: string) {
      for (const abort of inFlight.values()) abort.abort(reason);
    },
  };
}

interface SweepDeps {
  readonly database: DatabaseHandle;
  readonly boss: PgBoss;
  readonly storage: ExportStorage;
  readonly ec: Config['exports'];
  readonly settings: JobSettings;
  readonly metrics: boolean;
  readonly logger: Logger;
}

/** Stalled jobs get a new pg-boss job (atomically: one instance wins), or fail after their last attempt. */
async function restartStalledJobs(d: SweepDeps): Promise<number> {
  let restarted = 0;
  await d.database.db.transaction().execute(async (trx) => {
    const rows = await takeStalledExportJobs(trx, { stallMs: d.ec.stallTimeoutMs, maxAttempts: d.ec.retryLimit + 1, limit: 20 });
    const exec = transactionExecutor(trx);
    for (const r of rows) {
      if (r.old_boss_job_id) await d.boss.cancel(EXPORT_QUEUE, r.old_boss_job_id, { db: exec });
      if (r.status === 'PENDING' && r.boss_job_id) {
        await sendExportJob(d.boss, exec, r.id, r.boss_job_id, d.settings);
        restarted++;
      }
      if (d.metrics) exportJobsTotal.inc({ status: r.status === 'PENDING' ? 'restarted' : 'failed' });
      d.logger.warn({ exportId: r.id, status: r.status }, r.status === 'PENDING' ? 'stalled export restarted' : 'stalled export failed after its last attempt');
    }
  });
  return restarted;
}

/** Files past their lifetime are deleted, their jobs marked EXPIRED. */
async function sweepExpiredFiles(d: SweepDeps): Promise<number> {
  let removed = 0;
  for (const job of await findExpiredExportJobs(d.database.db, 100)) {
    if (job.file_key) await d.storage.remove(job.file_key);
    await markExportExpired(d.database.db, job.id);
    if (d.metrics) exportJobsTotal.inc({ status: 'expired' });
    removed++;
  }
  if (removed) d.logger.info({ removed }, 'expired export files deleted');
  return removed;
}

/**
 * The sweeps: expired files and stalled jobs once a minute on one instance (pg-boss cron), and
 * stalled jobs more often than that on every instance, and once right after a start.
 */
async function startSweeps(d: SweepDeps, nudge: () => void) {
  const restartStalled = async () => {
    const restarted = await restartStalledJobs(d);
    if (restarted) nudge();
    return restarted;
  };
  const sweepExpired = () => sweepExpiredFiles(d);
  await d.boss.schedule(SWEEP_QUEUE, '* * * * *', {}, { retryLimit: 0 });
  const sweepWorker = await d.boss.work(SWEEP_QUEUE, { batchSize: 1, pollingIntervalSeconds: 5 }, async () => {
    await sweepExpired();
    await restartStalled();
  });
  const stallTimer = setInterval(() => {
    restartStalled().catch((err) => d.logger.warn({ err }, 'stalled-export sweep failed'));
  }, Math.max(1000, Math.floor(d.ec.stallTimeoutMs / 2)));
  stallTimer.unref();
  return {
    restartStalled,
    sweepExpired,
    async stop() {
      clearInterval(stallTimer);
      await d.boss.offWork(sweepWorker).catch(() => undefined);
    },
  };
}

/**
 * Queue depth sampled in the background, never at probe or scrape time: a saturated pool must
 * not make readiness or /metrics wait (busy is not dead).
 */
async function startDepthSampler(database: DatabaseHandle) {
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
  const timer = setInterval(() => void sample(), 5000);
  timer.unref();
  const depth = async () => {
    if (!sampled || (sampleError && Date.now() - sampled.at > 15_000)) throw new Error('the export queue could not be read');
    return { queued: sampled.queued, active: sampled.active };
  };
  return { depth, stop: () => clearInterval(timer) };
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
  const workers = createWorkers(boss, runner, ec, concurrency);
  if (ec.workerEnabled) await workers.start();

  const sweeps = await startSweeps({ database, boss, storage, ec, settings, metrics, logger }, workers.nudge);
  const { restartStalled, sweepExpired } = sweeps;
  const sampler = await startDepthSampler(database);
  const unobserve = metrics ? observeExportQueue(sampler.depth) : () => undefined;

  let stopped = false;
  return {
    boss,
    storage,
    signingSecret,
    concurrency,
    async enqueue(trx, exportId, bossJobId) {
      await sendExportJob(boss, transactionExecutor(trx), exportId, bossJobId, settings);
    },
    nudge: workers.nudge,
    async cancelQueued(trx, bossJobId) {
      await boss.cancel(EXPORT_QUEUE, bossJobId, { db: transactionExecutor(trx) });
    },
    pauseWorkers: workers.pause,
    resumeWorkers: workers.start,
    restartStalled,
    sweepExpired,
    depth: sampler.depth,
    async stop() {
      if (stopped) return;
      stopped = true;
      sampler.stop();
      unobserve();
      // Running attempts stop at their next batch and go back to the queue (retried elsewhere
      // or after the next start); pg-boss waits for them, then fails whatever is still active.
      workers.abortAll('the gateway is shutting down');
      await sweeps.stop();
      await boss.stop({ graceful: true, timeout: 10_000, close: false, wait: true }).catch((err) => logger.warn({ err }, 'stopping the export queue failed'));
      if (storage instanceof S3ExportStorage) storage.close();
    },
  };
}

export { poolExecutor };
