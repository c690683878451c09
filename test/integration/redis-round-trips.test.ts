import { createHash } from 'node:crypto';
import type { RunningGateway } from '../../src/app';
import { REFUND_SCRIPT, TAKE_SCRIPT } from '../../src/limits/budget-store';
import { startTestGateway } from '../support/gateway';
import { REDIS_URL, debugGql, deleteKeysWithPrefix, startCacheFixture, uniquePrefix, type CacheFixture } from '../support/cache-fixture';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * Redis round trips per request, seen on the wire: the gateways reach Redis through a proxy
 * that records every command and groups them into turns (commands the client sent before it
 * read a reply). A cache hit takes its budget and reads its entries in one turn; refunds come
 * coalesced, at most one more turn; an L1 hit sends only the budget script.
 */
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const TAKE = sha1(TAKE_SCRIPT);
const REFUND = sha1(REFUND_SCRIPT);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads RESP command arrays out of a client's byte stream. */
class CommandReader {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): string[][] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: string[][] = [];
    for (;;) {
      const parsed = this.next();
      if (!parsed) break;
      out.push(parsed);
    }
    return out;
  }
  private next(): string[] | null {
    let i = 0;
    const line = () => {
      const end = this.buf.indexOf('\r\n', i);
      if (end < 0) return null;
      const text = this.buf.subarray(i, end).toString();
      i = end + 2;
      return text;
    };
    const head = line();
    if (head === null || head[0] !== '*') return null;
    const parts: string[] = [];
    for (let n = Number(head.slice(1)); n > 0; n--) {
      const len = line();
      if (len === null) return null;
      const size = Number(len.slice(1));
      if (this.buf.length < i + size + 2) return null;
      parts.push(this.buf.subarray(i, i + size).toString());
      i += size + 2;
    }
    this.buf = this.buf.subarray(i);
    return parts;
  }
}

/** Per connection: the commands of each turn (a turn ends when the server answers). */
class Recorder {
  readonly turns = new Map<number, string[][][]>();
  private readonly readers = new Map<number, CommandReader>();
  private readonly answered = new Map<number, boolean>();
  tap = (conn: number, from: 'client' | 'server', chunk: Buffer) => {
    if (from === 'server') {
      this.answered.set(conn, true);
      return;
    }
    let reader = this.readers.get(conn);
    if (!reader) this.readers.set(conn, (reader = new CommandReader()));
    const commands = reader.push(chunk);
    if (!commands.length) return;
    let turns = this.turns.get(conn);
    if (!turns) this.turns.set(conn, (turns = []));
    if (this.answered.get(conn) !== false || !turns.length) turns.push([]);
    this.answered.set(conn, false);
    turns.at(-1)!.push(...commands.map((c) => c.map((p, k) => (k === 0 ? p.toUpperCase() : p))));
  };
  reset() {
    this.turns.clear();
  }
  /** Turns on connections that sent anything but pub/sub (the subscriber is not in the request path). */
  requestTurns(): string[][][] {
    return [...this.turns.values()].filter((t) => !t.flat().some((c) => c[0] === 'SUBSCRIBE')).flat();
  }
}

const names = (turn: string[][]) => turn.map((c) => (c[0] === 'EVALSHA' ? (c[1] === TAKE ? 'take' : c[1] === REFUND ? 'refund' : 'evalsha') : c[0]!.toLowerCase()));

describe('Redis round trips on the hit path', () => {
  let f: CacheFixture;
  const recorder = new Recorder();
  let proxy: TcpProxy;
  const started: RunningGateway[] = [];
  const prefix = uniquePrefix('round-trips');

  beforeAll(async () => {
    f = await startCacheFixture('round-trips');
    proxy = new TcpProxy(Number(new URL(REDIS_URL).port || 6379), '127.0.0.1', recorder.tap);
    await proxy.start();
  }, 300_000);
  afterAll(async () => {
    for (const gw of started) await gw.stop();
    await proxy?.stop();
    await deleteKeysWithPrefix(f.redis, prefix);
    await f?.stop();
  });

  const gateway = async (env: Record<string, string>) => {
    const gw = await startTestGateway({
      DATABASE_URL: f.gw.services.config.database.url!,
      DATABASE_MODE: 'postgres',
      DB_POOL_MIN: '0',
      DEMO_DATA: 'false',
      CACHE_WARM_ON_START: 'false',
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      REDIS_KEY_PREFIX: prefix,
      ...env,
    });
    started.push(gw);
    return gw;
  };
  const key = () => f.keys[`${f.orgs[0]}:VIEWER`]!;

  it('reads Redis entries in the same turn as the budget script; one coalesced refund turn after', async () => {
    const gw = await gateway({ CACHE_L1_MAX_BYTES: '0' });
    const q = '{ traces(first: 8) { nodes { id model } } costs(range: {last: "24h"}) { totals { totalUsd } } }';
    expect((await debugGql(gw.url, key(), q)).body.extensions?.cache).toMatchObject({ traces: { hit: false }, costs: { hit: false } });
    await sleep(300); // the fill's writes and the refund
    recorder.reset();
    const hit = await debugGql(gw.url, key(), q);
    expect(hit.body.extensions?.cache).toMatchObject({ traces: { hit: true, from: 'store' }, costs: { hit: true, from: 'store' } });
    await sleep(300);
    const turns = recorder.requestTurns().map(names);
    expect(turns[0]!.sort()).toEqual(['get', 'get', 'take']);
    expect(turns.slice(1)).toEqual([['refund']]);
  });

  it('sends only the budget script when the L1 holds every field: charged the cached cost, nothing to refund', async () => {
    const gw = await gateway({});
    const q = '{ traces(first: 9) { nodes { id } } }';
    await debugGql(gw.url, key(), q);
    // The first hits come from Redis (and copy into the L1) until the invalidation channel is live.
    for (let i = 0; i < 100; i++) {
      if ((await debugGql(gw.url, key(), q)).body.extensions?.cache?.traces?.from === 'l1') break;
      await sleep(20);
    }
    await sleep(300);
    recorder.reset();
    const hit = await debugGql(gw.url, key(), q);
    expect(hit.body.extensions?.cache.traces).toMatchObject({ hit: true, from: 'l1' });
    expect(hit.body.extensions?.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 1 });
    await sleep(300);
    expect(recorder.requestTurns().map(names)).toEqual([['take']]);
  });

  it('coalesces the refunds of concurrent requests of one caller', async () => {
    const gw = await gateway({ CACHE_L1_MAX_BYTES: '0' });
    const q = '{ traces(first: 11) { nodes { id } } }';
    await debugGql(gw.url, key(), q);
    await sleep(300);
    recorder.reset();
    const n = 20;
    const answers = await Promise.all(Array.from({ length: n }, () => debugGql(gw.url, key(), q)));
    for (const a of answers) expect(a.body.extensions?.cache.traces.hit).toBe(true);
    await sleep(300);
    const turns = recorder.requestTurns().map(names);
    const refunds = turns.flat().filter((c) => c === 'refund').length;
    const takes = turns.flat().filter((c) => c === 'take').length;
    expect(takes).toBe(n);
    // Never more than one extra turn per request (refunds ride along with others' commands or
    // go together), and never more refund commands than requests. How many coalesce depends on
    // how closely the requests arrive (a 10 ms window; on a loaded machine they spread out), so
    // the merging itself is asserted deterministically in test/unit/compiled-operations.test.ts.
    expect(turns.length).toBeLessThanOrEqual(2 * n);
    expect(turns.filter((t) => t.includes('refund') && !t.includes('take')).length).toBeLessThanOrEqual(refunds);
    expect(refunds).toBeLessThanOrEqual(n);
  });
});
