import pino from 'pino';
import { SpanWriter, WriterSaturated, WriterStopped } from '../../src/ingest/span-writer';
import type { IngestRow } from '../../src/ingest/ingest.repository';

/** The write queue's rules, with a statement runner the test controls. */

const rowsOf = (n: number, tag = 'ok'): IngestRow[] => Array.from({ length: n }, (_, i) => ({ id: `${tag}-${i}`, input: null, output: null }) as unknown as IngestRow);

function gatedInsert() {
  const calls: IngestRow[][] = [];
  let open: () => void = () => undefined;
  let gate = new Promise<void>((r) => (open = r));
  const insert = async (rows: readonly IngestRow[]) => {
    calls.push([...rows]);
    await gate;
    if (rows.some((r) => r.id.startsWith('bad'))) throw new Error('value out of range');
    return rows.length;
  };
  return {
    calls,
    insert,
    release() {
      open();
      gate = Promise.resolve();
    },
  };
}

const opts = { maxBatchRows: 100, maxQueuedRows: 150, maxQueuedBytes: 1 << 30, concurrency: 1, logger: pino({ level: 'silent' }) };

describe('SpanWriter', () => {
  it('batches the requests that queue up behind a running statement, never splitting one', async () => {
    const g = gatedInsert();
    const w = new SpanWriter(g.insert, opts);
    const first = w.write(rowsOf(10, 'a'));
    const queued = [w.write(rowsOf(40, 'b')), w.write(rowsOf(40, 'c')), w.write(rowsOf(30, 'd'))];
    g.release();
    await Promise.all([first, ...queued]);
    // First alone; then b + c (80 rows); d would make 110 > 100, so it goes next on its own.
    expect(g.calls.map((c) => c.length)).toEqual([10, 80, 30]);
    expect(w.stats.rows).toBe(120);
  });

  it('refuses work beyond the queue bound with a Retry-After hint, and takes it again once drained', async () => {
    const g = gatedInsert();
    const w = new SpanWriter(g.insert, opts);
    const running = w.write(rowsOf(100, 'a'));
    const queued = w.write(rowsOf(40, 'b'));
    await expect(w.write(rowsOf(20, 'c'))).rejects.toBeInstanceOf(WriterSaturated);
    await w.write(rowsOf(20, 'c')).catch((e: WriterSaturated) => expect(e.retryAfterSeconds).toBeGreaterThanOrEqual(1));
    expect(w.load()).toBeCloseTo(140 / 150, 6);
    g.release();
    await Promise.all([running, queued]);
    await expect(w.write(rowsOf(20, 'c'))).resolves.toEqual({ inserted: 20 });
  });

  it('a failing batch is retried request by request: only the bad request fails', async () => {
    const g = gatedInsert();
    const w = new SpanWriter(g.insert, opts);
    const first = w.write(rowsOf(5, 'a'));
    const good = w.write(rowsOf(5, 'b'));
    const bad = w.write(rowsOf(5, 'bad'));
    const good2 = w.write(rowsOf(5, 'c'));
    g.release();
    await first;
    await expect(good).resolves.toEqual({ inserted: 5 });
    await expect(bad).rejects.toThrow('value out of range');
    await expect(good2).resolves.toEqual({ inserted: 5 });
  });

  it('stop() writes what is queued, then refuses', async () => {
    const g = gatedInsert();
    const w = new SpanWriter(g.insert, opts);
    const a = w.write(rowsOf(5, 'a'));
    const b = w.write(rowsOf(5, 'b'));
    const stopped = w.stop();
    await expect(w.write(rowsOf(1))).rejects.toBeInstanceOf(WriterStopped);
    g.release();
    await stopped;
    await expect(Promise.all([a, b])).resolves.toHaveLength(2);
    expect(w.stats.rows).toBe(10);
  });
});
