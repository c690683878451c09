import { promisify } from 'node:util';
import zlib from 'node:zlib';

const brotli = promisify(zlib.brotliCompress);
const unbrotli = promisify(zlib.brotliDecompress);

/** What one cache entry holds: the field's canonical value and when it was computed. */
export interface StoredField {
  readonly data: unknown;
  /** Epoch ms. */
  readonly storedAt: number;
  readonly ttlSeconds: number;
}

/**
 * Entries are JSON text; above `compressMinBytes` they are brotli-compressed (quality 4: most
 * of the gain at a few ms per MiB) and base64-encoded, since Keyv stores strings. The first
 * character says which.
 */
export async function encodeEntry(entry: StoredField, compressMinBytes: number): Promise<string> {
  const json = JSON.stringify({ d: entry.data, t: entry.storedAt, l: entry.ttlSeconds });
  if (Buffer.byteLength(json) <= compressMinBytes) return `j${json}`;
  const packed = await brotli(Buffer.from(json), {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT },
  });
  return `b${packed.toString('base64')}`;
}

export async function decodeEntry(text: unknown): Promise<StoredField | undefined> {
  if (typeof text !== 'string' || text.length < 2) return undefined;
  try {
    const json = text[0] === 'b' ? (await unbrotli(Buffer.from(text.slice(1), 'base64'))).toString('utf8') : text[0] === 'j' ? text.slice(1) : null;
    if (json === null) return undefined;
    const o = JSON.parse(json) as { d: unknown; t: number; l: number };
    return { data: o.d, storedAt: o.t, ttlSeconds: o.l };
  } catch {
    return undefined; // a corrupt entry is a miss
  }
}
