import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { project, type Projection } from './stored-shape';

const brotli = promisify(zlib.brotliCompress);
const unbrotli = promisify(zlib.brotliDecompress);

/** What a cache entry holds: a field's value as JSON text in its stored shape. */
export interface StoredField {
  /** The field's value serialised, canonical names in the filling request's order. */
  readonly json: string;
  /** Shape id of `json` (see stored-shape.ts). */
  readonly shape: string;
  /** Epoch ms. */
  readonly storedAt: number;
  readonly ttlSeconds: number;
}

/** What a request needs to read an entry in its own shape. */
export interface FieldReader {
  readonly responseShape: string;
  readonly projection: Projection;
}

const MAX_PROJECTIONS = 8;

/**
 * A decoded entry as requests use it: its text is spliced into responses as is when the
 * request's shape is the stored one; other shapes are projected once per shape and kept.
 */
export class CachedField implements StoredField {
  private parsed: unknown;
  private projections?: Map<string, string>;
  private projectedBytes = 0;

  constructor(
    readonly json: string,
    readonly shape: string,
    readonly storedAt: number,
    readonly ttlSeconds: number,
  ) {}

  /** In-memory size for byte budgets: the text, plus room for the projections kept (at most
   *  twice the text) and the parsed value. Fixed, so an L1's accounting stays true. */
  get bytes(): number {
    return this.json.length * 4 + 128;
  }

  value(): unknown {
    if (this.parsed === undefined) this.parsed = JSON.parse(this.json);
    return this.parsed;
  }

  /** The field's JSON in `reader`'s own shape. */
  textFor(reader: FieldReader): string {
    if (reader.responseShape === this.shape) return this.json;
    let text = this.projections?.get(reader.responseShape);
    if (text === undefined) {
      text = JSON.stringify(project(this.value(), reader.projection));
      this.projections ??= new Map();
      if (this.projections.size >= MAX_PROJECTIONS || this.projectedBytes + text.length > this.json.length * 2) {
        this.projections.clear();
        this.projectedBytes = 0;
      }
      this.projections.set(reader.responseShape, text);
      this.projectedBytes += text.length;
    }
    return text;
  }
}

/*
 * Text layout: `2|storedAt|ttl|shape|json`, or above `compressMinBytes`
 * `3|storedAt|ttl|shape|base64(brotli(json))` (quality 4: most of the gain at a few ms per MiB;
 * base64 because the stores hold strings). The header stays readable without decompressing.
 * Entries written by earlier versions (first character `j` or `b`) read as misses and are
 * overwritten by the next fill.
 */
export async function encodeEntry(entry: StoredField, compressMinBytes: number): Promise<string> {
  const head = `${entry.storedAt}|${entry.ttlSeconds}|${entry.shape}|`;
  if (entry.json.length <= compressMinBytes) return `2|${head}${entry.json}`;
  const packed = await brotli(Buffer.from(entry.json), {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT },
  });
  return `3|${head}${packed.toString('base64')}`;
}

export async function decodeEntry(text: unknown): Promise<CachedField | undefined> {
  if (typeof text !== 'string' || text.length < 8 || (text[0] !== '2' && text[0] !== '3') || text[1] !== '|') return undefined;
  const a = text.indexOf('|', 2);
  const b = a < 0 ? -1 : text.indexOf('|', a + 1);
  const c = b < 0 ? -1 : text.indexOf('|', b + 1);
  if (c < 0) return undefined;
  const storedAt = Number(text.slice(2, a));
  const ttlSeconds = Number(text.slice(a + 1, b));
  const shape = text.slice(b + 1, c);
  if (!Number.isFinite(storedAt) || !Number.isFinite(ttlSeconds)) return undefined;
  try {
    const json = text[0] === '2' ? text.slice(c + 1) : (await unbrotli(Buffer.from(text.slice(c + 1), 'base64'))).toString('utf8');
    if (!json.length) return undefined;
    return new CachedField(json, shape, storedAt, ttlSeconds);
  } catch {
    return undefined; // a corrupt entry is a miss
  }
}
