import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/**
 * Where finished export files live. A file becomes visible under its key only when its upload
 * is committed (local: rename of a temporary file; S3: completion of the multipart upload), so
 * a reader can never see a partial file.
 */
export interface ExportStorage {
  readonly kind: 'local' | 's3';
  /** Starts writing `key`; nothing is visible under it until commit(). */
  createUpload(key: string): Promise<ExportUpload>;
  /** The committed file; null when it does not exist. */
  open(key: string): Promise<{ stream: Readable; bytes: number } | null>;
  remove(key: string): Promise<void>;
  /** Removes committed files and leftovers of uploads whose keys start with `prefix`. */
  removePrefix(prefix: string): Promise<number>;
  /** Readiness: can we write here? */
  check(): Promise<void>;
}

export interface ExportUpload {
  /** Bytes go here (end() is called by commit, not by the writer). */
  readonly stream: Writable;
  /** Ends the stream, makes the file visible, and returns its size. */
  commit(): Promise<{ bytes: number }>;
  /** Drops whatever was written; the key stays absent. */
  abort(): Promise<void>;
}

/** Org ids and keys become path segments: anything outside a safe set is refused. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(key) || key.split('/').some((s) => s === '.' || s === '..')) {
    throw new Error(`unsafe export key: ${JSON.stringify(key)}`);
  }
}

const PARTIAL = '.partial';

export class LocalExportStorage implements ExportStorage {
  readonly kind = 'local' as const;
  constructor(private readonly dir: string) {}

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.dir, key);
  }

  async createUpload(key: string): Promise<ExportUpload> {
    const final = this.pathOf(key);
    await fsp.mkdir(path.dirname(final), { recursive: true });
    // Dot-prefixed and suffixed: never matched by open(), removed with its prefix.
    const temp = path.join(path.dirname(final), `.${path.basename(final)}.${process.pid}.${Date.now()}${PARTIAL}`);
    const stream = fs.createWriteStream(temp, { flags: 'wx' });
    const opened = new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    await opened;
    let finished = false;
    return {
      stream,
      async commit() {
        await new Promise<void>((resolve, reject) => {
          stream.once('error', reject);
          stream.end(() => resolve());
        });
        // Durable before visible: the data, then the rename, then the directory entry.
        const fh = await fsp.open(temp, 'r+');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fsp.rename(temp, final);
        const dirFh = await fsp.open(path.dirname(final), 'r').catch(() => null);
        await dirFh?.sync().catch(() => undefined);
        await dirFh?.close();
        finished = true;
        return { bytes: (await fsp.stat(final)).size };
      },
      async abort() {
        if (finished) return;
        finished = true;
        stream.destroy();
        await fsp.rm(temp, { force: true });
      },
    };
  }

  async open(key: string) {
    const p = this.pathOf(key);
    try {
      const st = await fsp.stat(p);
      if (!st.isFile()) return null;
      return { stream: fs.createReadStream(p), bytes: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true });
  }

  async removePrefix(prefix: string): Promise<number> {
    const p = this.pathOf(prefix);
    const dir = path.dirname(p);
    const base = path.basename(p);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return 0;
    }
    const doomed = names.filter((n) => n.startsWith(base) || (n.startsWith(`.${base}`) && n.endsWith(PARTIAL)));
    await Promise.all(doomed.map((n) => fsp.rm(path.join(dir, n), { force: true })));
    return doomed.length;
  }

  async check(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    await fsp.access(this.dir, fs.constants.W_OK);
  }
}
