import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { OrderedOutput } from '../../../src/modules/exports/ordered-output';

/** A sink that records what it got and can be made slow (back-pressure). */
function recordingSink(highWaterMark = 16) {
  const got: Buffer[] = [];
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      setImmediate(cb);
    },
  });
  // What the sink has processed once everything written to it so far is through.
  const text = async () => {
    await new Promise<void>((r) => sink.end(r));
    return Buffer.concat(got).toString();
  };
  return { sink, text };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('OrderedOutput', () => {
  it('puts parts written at the same time out whole and in the order they were opened', async () => {
    const { sink, text } = recordingSink();
    const out = new OrderedOutput(sink, 1 << 20);
    const parts = [out.open(), out.open(), out.open()];
    // Interleaved writes, the last part ends first, the first part last.
    for (let i = 0; i < 5; i++) {
      for (const [n, p] of [...parts.entries()].reverse()) p.write(`${n}${i};`);
      await tick();
    }
    parts[2]!.end();
    parts[1]!.end();
    await tick();
    parts[0]!.end();
    await Promise.all(parts.map((p) => finished(p)));
    expect(await text()).toBe('00;01;02;03;04;10;11;12;13;14;20;21;22;23;24;');
  });

  it('holds a part that is not due once it has buffered maxBuffered bytes, and lets it go when its turn comes', async () => {
    const { sink, text } = recordingSink();
    const out = new OrderedOutput(sink, 10);
    const first = out.open();
    const second = out.open();
    const acked: number[] = [];
    for (let i = 0; i < 4; i++) second.write(Buffer.alloc(6, 65 + i), () => acked.push(i));
    await tick();
    await tick();
    // 6 bytes fit, the next 6 reach the cap of 10: that write waits, so the ones behind it do too.
    expect(acked).toEqual([0]);
    first.end('head;');
    await finished(first);
    second.end();
    await finished(second);
    expect(acked).toEqual([0, 1, 2, 3]);
    expect(await text()).toBe(`head;${'A'.repeat(6)}${'B'.repeat(6)}${'C'.repeat(6)}${'D'.repeat(6)}`);
  });

  it('a part opened after the earlier ones ended writes straight through', async () => {
    const { sink, text } = recordingSink();
    const out = new OrderedOutput(sink, 4);
    const a = out.open();
    a.end('a;');
    await finished(a);
    const b = out.open();
    let acked = false;
    b.write('bbbbbbbbbb;', () => (acked = true));
    await tick();
    await tick();
    expect(acked).toBe(true); // due at once: no cap applies
    b.end();
    await finished(b);
    expect(await text()).toBe('a;bbbbbbbbbb;');
  });

  it('respects the sink’s back-pressure for the part that is due', async () => {
    let inFlight = 0;
    let most = 0;
    const got: string[] = [];
    const sink = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, cb) {
        inFlight++;
        most = Math.max(most, inFlight);
        got.push(chunk.toString());
        setTimeout(() => (inFlight--, cb()), 1);
      },
    });
    const out = new OrderedOutput(sink, 1 << 20);
    const p = out.open();
    for (let i = 0; i < 20; i++) p.write(`${i},`);
    p.end();
    await finished(p);
    await new Promise<void>((r) => sink.end(r));
    expect(got.join('')).toBe(Array.from({ length: 20 }, (_, i) => `${i},`).join(''));
    expect(most).toBe(1);
  });

  it('destroy tears every open part down (a producer still writing fails; no unhandled error event)', async () => {
    const { sink } = recordingSink();
    const out = new OrderedOutput(sink, 1 << 20);
    const parts = [out.open(), out.open()];
    parts[1]!.write('x');
    const ends = parts.map((p) => finished(p));
    out.destroy();
    for (const e of ends) await expect(e).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(parts.every((p) => p.destroyed)).toBe(true);
  });
});
