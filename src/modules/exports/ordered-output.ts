import { Writable } from 'node:stream';

/**
 * Several producers, one ordered output: `open()` gives the next part of the output a Writable
 * of its own. The oldest open part writes straight into `sink` (with the sink's back-pressure);
 * the later ones may run at the same time, and keep what they write in memory until every part
 * before them has ended, up to `maxBuffered` bytes each — beyond that their writes wait, so a
 * fast producer is held back instead of growing memory. Parts come out whole and in the order
 * they were opened. `sink` is never ended here.
 */
export class OrderedOutput {
  private readonly parts: OrderedPart[] = [];

  constructor(
    private readonly sink: Writable,
    private readonly maxBuffered: number,
  ) {}

  /** The next part of the output, after every part opened before it. */
  open(): OrderedPart {
    const part = new OrderedPart(this.sink, this.maxBuffered, () => this.advance(part));
    this.parts.push(part);
    if (this.parts.length === 1) part.activate();
    return part;
  }

  /**
   * Abandons the output: every open part is destroyed. Without an error on purpose: a part whose
   * producer is done has no listener left, and an 'error' event there would be unhandled; a
   * producer still writing sees its stream close early and fails with that.
   */
  destroy(): void {
    for (const p of this.parts.splice(0)) p.destroy();
  }

  private advance(done: OrderedPart): void {
    if (this.parts[0] !== done) return;
    this.parts.shift();
    this.parts[0]?.activate();
  }
}

type Callback = (err?: Error | null) => void;

export class OrderedPart extends Writable {
  private active = false;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** A write that waits for room (buffer full) or for the part's turn to end. */
  private held: Callback | null = null;
  private ending: Callback | null = null;

  constructor(
    private readonly sink: Writable,
    private readonly maxBuffered: number,
    private readonly onFinished: () => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  /** Its turn: what waited in memory goes to the sink, later writes go straight there. */
  activate(): void {
    if (this.active) return;
    this.active = true;
    const waiting = this.buffered;
    this.buffered = [];
    this.bufferedBytes = 0;
    let room = true;
    for (const b of waiting) room = this.sink.write(b);
    const held = this.held;
    this.held = null;
    const resume = () => {
      if (held) held();
      if (this.ending) this.finish(this.ending);
    };
    if (room) resume();
    else this.sink.once('drain', resume);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: Callback): void {
    if (this.active) {
      if (this.sink.write(chunk)) cb();
      else this.sink.once('drain', () => cb());
      return;
    }
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes < this.maxBuffered) cb();
    else this.held = cb;
  }

  override _final(cb: Callback): void {
    if (this.active) this.finish(cb);
    else this.ending = cb;
  }

  override _destroy(err: Error | null, cb: Callback): void {
    this.buffered = [];
    this.bufferedBytes = 0;
    this.held = null;
    this.ending = null;
    cb(err);
  }

  private finish(cb: Callback): void {
    this.ending = null;
    cb();
    this.onFinished();
  }
}
