import { Worker } from 'node:worker_threads';
import path from 'node:path';
import fs from 'node:fs';
import { acquireDataDirLock, assertDataDirFree, type DataDirLock } from './data-dir-lock';

export interface EmbeddedDatabase {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts PGlite+TimescaleDB in a worker thread serving the wire protocol on 127.0.0.1.
 * `dataDir` undefined keeps the database in memory (tests).
 */
export async function startEmbeddedDatabase(dataDir: string | undefined, holder = 'gateway'): Promise<EmbeddedDatabase> {
  const absDir = dataDir ? path.resolve(dataDir) : undefined;
  if (absDir) fs.mkdirSync(absDir, { recursive: true });
  if (!absDir) return startWorker(undefined, () => undefined);
  // PGlite is single-process: a second process on the same directory would corrupt it. A new
  // directory must be empty for PGlite's initdb, so there the lock is taken right after it.
  const fresh = !fs.existsSync(path.join(absDir, 'PG_VERSION'));
  if (fresh) assertDataDirFree(absDir);
  let lock: DataDirLock | undefined = fresh ? undefined : acquireDataDirLock(absDir, holder);
  try {
    return await startWorker(absDir, () => {
      lock ??= acquireDataDirLock(absDir, holder);
      return lock;
    });
  } catch (err) {
    lock?.release();
    throw err;
  }
}

async function startWorker(absDir: string | undefined, lockAfterOpen: () => DataDirLock | undefined): Promise<EmbeddedDatabase> {
  const worker = new Worker(path.join(__dirname, 'pglite-worker.js'), {
    workerData: { dataDir: absDir },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (msg: { type: string; port?: number; message?: string }) => {
      if (msg.type === 'ready' && msg.port) {
        worker.off('error', reject);
        resolve(msg.port);
      } else if (msg.type === 'error') {
        reject(new Error(`embedded database failed to start: ${msg.message}`));
      }
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`embedded database worker exited with code ${code}`)));
  });
  let lock: DataDirLock | undefined;
  try {
    lock = lockAfterOpen();
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let closed = false;
  return {
    port,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 10_000);
        worker.on('message', (msg: { type: string }) => {
          if (msg.type === 'closed') {
            clearTimeout(timer);
            void worker.terminate().then(() => resolve());
          }
        });
        worker.postMessage({ type: 'close' });
      });
      lock?.release();
    },
  };
}
