import { Worker } from 'node:worker_threads';
import path from 'node:path';
import fs from 'node:fs';

export interface EmbeddedDatabase {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts PGlite+TimescaleDB in a worker thread serving the wire protocol on 127.0.0.1.
 * `dataDir` undefined keeps the database in memory (tests).
 */
export async function startEmbeddedDatabase(dataDir: string | undefined): Promise<EmbeddedDatabase> {
  const absDir = dataDir ? path.resolve(dataDir) : undefined;
  if (absDir) fs.mkdirSync(absDir, { recursive: true });
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
    },
  };
}
