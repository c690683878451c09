import { Worker } from 'node:worker_threads';
import path from 'node:path';
import fs from 'node:fs';
import { acquireDataDirLock, assertDataDirFree, type DataDirLock } from './data-dir-lock';

export interface EmbeddedDatabase {
  readonly port: number;
  /** What the worker holds: PGlite's WebAssembly memory and the worker isolate's heap. */
  memory(): Promise<EmbeddedMemory | null>;
  close(): Promise<void>;
}

export interface EmbeddedMemory {
  /** WebAssembly linear memory: PostgreSQL's shared buffers, work memory, catalog caches. Never shrinks. */
  readonly wasmBytes: number;
  /** The worker thread's V8 heap (protocol messages in flight). */
  readonly workerHeapUsedBytes: number;
  /** The worker's relay buffers: partial protocol messages and hand-overs queued. */
  readonly relayPendingBytes: number;
  /** Requests PGlite answered only in part, finished by the worker with an error (SQLSTATE 08P01). */
  readonly lostAnswers: number;
}

export interface EmbeddedOptions {
  /** TurboFan for PGlite's WebAssembly (EMBEDDED_WASM_OPTIMIZE); off: Liftoff only. */
  readonly wasmOptimize: boolean;
  /** The worker's young generation, MB (EMBEDDED_WORKER_YOUNG_MB). */
  readonly workerYoungMb: number;
  /** PostgreSQL's buffer pool in PGlite's WebAssembly memory, MB (EMBEDDED_SHARED_BUFFERS_MB; 128 = the build's own). */
  readonly sharedBuffersMb?: number;
  /**
   * Tests only: hand PGlite what arrives without cutting it after a message that ends on an
   * 8192-byte multiple (pglite-worker.js), so that the worker's lost-answer guard can be tested.
   */
  readonly wholeHandOvers?: boolean;
}

const DEFAULT_OPTIONS: EmbeddedOptions = { wasmOptimize: false, workerYoungMb: 16 };

/**
 * Starts PGlite+TimescaleDB in a worker thread serving the wire protocol on 127.0.0.1.
 * `dataDir` undefined keeps the database in memory (tests).
 */
export async function startEmbeddedDatabase(dataDir: string | undefined, holder = 'gateway', options: EmbeddedOptions = DEFAULT_OPTIONS): Promise<EmbeddedDatabase> {
  const absDir = dataDir ? path.resolve(dataDir) : undefined;
  if (absDir) fs.mkdirSync(absDir, { recursive: true });
  if (!absDir) return startWorker(undefined, () => undefined, options);
  // PGlite is single-process: a second process on the same directory would corrupt it. A new
  // directory must be empty for PGlite's initdb, so there the lock is taken right after it.
  const fresh = !fs.existsSync(path.join(absDir, 'PG_VERSION'));
  if (fresh) assertDataDirFree(absDir);
  let lock: DataDirLock | undefined = fresh ? undefined : acquireDataDirLock(absDir, holder);
  try {
    return await startWorker(
      absDir,
      () => {
        lock ??= acquireDataDirLock(absDir, holder);
        return lock;
      },
      options,
    );
  } catch (err) {
    lock?.release();
    throw err;
  }
}

async function startWorker(absDir: string | undefined, lockAfterOpen: () => DataDirLock | undefined, options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const worker = new Worker(path.join(__dirname, 'pglite-worker.js'), {
    workerData: { dataDir: absDir, wasmOptimize: options.wasmOptimize, sharedBuffersMb: options.sharedBuffersMb ?? 128, wholeHandOvers: options.wholeHandOvers ?? false },
    // Only the young generation is bounded: the worker's garbage is short-lived protocol
    // messages. Old space is left alone (a cap there would crash the database on a big result).
    resourceLimits: { maxYoungGenerationSizeMb: options.workerYoungMb },
  });
  const port = await portWhenReady(worker);
  let lock: DataDirLock | undefined;
  try {
    lock = lockAfterOpen();
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let closed = false;
  let asked = 0;
  return {
    port,
    memory() {
      if (closed) return Promise.resolve(null);
      return askMemory(worker, ++asked);
    },
    async close() {
      if (closed) return;
      closed = true;
      await stopWorker(worker);
      lock?.release();
    },
  };
}

/** The port the worker serves on, once it says it is ready; rejects if it fails or exits first. */
function portWhenReady(worker: Worker): Promise<number> {
  return new Promise<number>((resolve, reject) => {
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
}

/** The worker's answer to memory request `id`, or null after a second without one. */
function askMemory(worker: Worker, id: number): Promise<EmbeddedMemory | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), 1000);
    const onMessage = (msg: { type: string; id?: number; memory?: EmbeddedMemory }) => {
      if (msg.type === 'memory' && msg.id === id) done(msg.memory ?? null);
    };
    const done = (m: EmbeddedMemory | null) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(m);
    };
    worker.on('message', onMessage);
    worker.postMessage({ type: 'memory', id });
  });
}

/** Asks the worker to close the database cleanly, then terminates it; after 10 s terminates it anyway. */
function stopWorker(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 10_000);
    worker.on('message', (msg: { type: string }) => {
      if (msg.type === 'closed') {
        clearTimeout(timer);
        void worker.terminate().then(() => resolve());
      }
    });
    worker.postMessage({ type: 'close' });
  });
}
