import http from 'node:http';
import net from 'node:net';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';
import { startKeepAliveLoad } from '../support/keepalive-load';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { seedOps } from '../support/ops-gateway';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A POST whose body is sent in two parts, on its own connection: in flight between them. */
function slowPost(url: string, key: string, query: string) {
  const body = JSON.stringify({ query });
  const u = new URL(url);
  type Answer = { status: number; text: string; at: number; connection?: string };
  let resolveResponse!: (v: Answer) => void;
  let rejectResponse!: (e: Error) => void;
  const response = new Promise<Answer>((res, rej) => ((resolveResponse = res), (rejectResponse = rej)));
  const req = http.request(
    { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${key}` } },
    (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, text, at: Date.now(), connection: res.headers.connection }));
    },
  );
  req.on('error', rejectResponse);
  req.write(body.slice(0, 10));
  return { finish: () => req.end(body.slice(10)), response };
}

/** A raw keep-alive socket that sends one request and then stays idle; resolves when the server closes it. */
async function idleKeepAliveSocket(url: string): Promise<{ closedByServer: Promise<number> }> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`GET /health/live HTTP/1.1\r\nHost: ${u.host}\r\nConnection: keep-alive\r\n\r\n`);
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return { closedByServer: new Promise((resolve) => socket.once('close', () => resolve(Date.now()))) };
}

describe('SIGTERM under keep-alive load (the npm start process)', () => {
  let tdb: TestDatabase;
  let gw: GatewayProcess | undefined;
  afterAll(async () => {
    if (gw?.child.exitCode === null) gw.child.kill('SIGKILL');
    await tdb?.drop();
  });

  it('answers with Connection: close, closes idle sockets, lets in-flight requests finish, resets nothing, logs no error and exits right after', async () => {
    tdb = await createTestDatabase('drain');
    gw = await startGatewayProcess({
      NODE_ENV: 'production',
      DATABASE_URL: tdb.url,
      DATABASE_MODE: 'postgres',
      DB_POOL_MIN: '0',
      CACHE_WARM_ON_START: 'false',
      OTEL_SDK_DISABLED: 'true',
      // A deadline far away: the process must leave as soon as the work is done, not then.
      SHUTDOWN_TIMEOUT_MS: '20000',
    });
    const handle = await openDatabase(loadConfig({ DATABASE_URL: tdb.url, DATABASE_MODE: 'postgres', DB_POOL_MIN: '0' }));
    const { key } = await seedOps(handle.db, 50);
    await handle.close();
    const url = gw.url;
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => gw!.child.once('exit', (code) => resolve({ code, at: Date.now() })));

    const idle = await idleKeepAliveSocket(url);
    const load = startKeepAliveLoad({ url, key, concurrency: 8, query: (n) => `{ traces(first: ${10 + (n % 20)}) { nodes { id model totalCostUsd } } }` });
    await sleep(1500);
    const slow = slowPost(url, key, '{ traces(first: 3) { nodes { id } } }');
    await sleep(200);

    const sigtermAt = load.now();
    gw.child.kill('SIGTERM');
    await sleep(800); // the listener is closed by now; the slow request is still in flight
    slow.finish();
    const slowAnswer = await slow.response;
    const exit = await exited;
    const outcomes = await load.stop();

    expect(exit.code).toBe(0);
    expect(slowAnswer.status).toBe(200);
    expect(JSON.parse(slowAnswer.text).data.traces.nodes).toHaveLength(3);
    expect(slowAnswer.connection).toBe('close');
    // Idle keep-alive sockets were closed by the server (the process did not wait on them).
    expect(await idle.closedByServer).toBeLessThanOrEqual(exit.at);

    const before = outcomes.filter((o) => o.startMs < sigtermAt);
    const after = outcomes.filter((o) => o.startMs >= sigtermAt);
    expect(before.length).toBeGreaterThan(20);
    const resets = outcomes.filter((o) => o.failure === 'reset' || o.failure === 'timeout' || o.failure === 'other');
    expect(resets).toEqual([]);
    for (const o of outcomes.filter((x) => !x.failure)) {
      expect(o.status).toBe(200);
      expect(o.codes).toEqual([]);
    }
    // Every client was told to close: its last answer carried Connection: close (the answers
    // before it, after SIGTERM, are those the process sent before it handled the signal).
    const answeredAfter = after.filter((o) => !o.failure);
    expect(answeredAfter.length).toBeGreaterThan(0);
    for (let w = 0; w < 8; w++) {
      const answered = outcomes.filter((o) => o.worker === w && !o.failure);
      const last = answered.at(-1);
      // Or, on a loaded machine, the client sat idle past the 250 ms grace after its last answer: the
      // server closed that idle socket, and the client's next try was refused (never reset).
      const closedIdle = !!last && outcomes.some((o) => o.worker === w && o.failure === 'refused' && o.startMs >= last.startMs);
      expect({ worker: w, lastSaidClose: last?.connectionClose || closedIdle }).toEqual({ worker: w, lastSaidClose: true });
    }
    // Whatever came after that was refused (the listener was closed), never reset.
    expect(after.filter((o) => o.failure).every((o) => o.failure === 'refused')).toBe(true);
    // Well before the 20 s deadline: right after the last request was answered.
    expect(exit.at - slowAnswer.at).toBeLessThan(5000);

    const lines = gw.output().split('\n').filter((l) => l.startsWith('{'));
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);
    expect(errors).toEqual([]);
    expect(gw.output()).not.toMatch(/driver has already been destroyed/);
    expect(gw.output()).toMatch(/shutdown complete/);
  });
});
