import fs from 'node:fs';
import path from 'node:path';

/**
 * One process at a time on an embedded data directory. PGlite is a single-process database:
 * two processes opening the same DATA_DIR each believe they own its files and corrupt them.
 * The lock is a file (`DATA_DIR/.gateway.lock`) holding the owner's pid; a lock whose process
 * is gone (a crash, SIGKILL) is taken over. Reusable by anything that opens DATA_DIR: the
 * gateway's embedded database and the `keys` CLI take it.
 */

export const LOCK_FILE = '.gateway.lock';

export interface DataDirLockOwner {
  readonly pid: number;
  /** What holds it: "gateway", "keys CLI", … */
  readonly holder: string;
  readonly since: string;
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: DataDirLockOwner,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by the ${owner.holder} (pid ${owner.pid}, since ${owner.since}). ` +
        'The embedded database (PGlite) allows one process at a time: stop it first, or work through it.',
    );
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who holds the lock now (null: nobody, or a dead process). */
export function dataDirLockOwner(dataDir: string): DataDirLockOwner | null {
  const file = path.join(path.resolve(dataDir), LOCK_FILE);
  let owner: DataDirLockOwner;
  try {
    owner = JSON.parse(fs.readFileSync(file, 'utf8')) as DataDirLockOwner;
  } catch {
    return null;
  }
  return Number.isInteger(owner?.pid) && owner.pid !== process.pid && alive(owner.pid) ? owner : null;
}

/** Throws DataDirInUseError when a live process holds the lock; takes nothing. */
export function assertDataDirFree(dataDir: string): void {
  const owner = dataDirLockOwner(dataDir);
  if (owner) throw new DataDirInUseError(path.resolve(dataDir), owner);
}

/** Takes the lock or throws DataDirInUseError; released by release() or when the process exits. */
export function acquireDataDirLock(dataDir: string, holder: string): DataDirLock {
  const dir = path.resolve(dataDir);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const mine: DataDirLockOwner = { pid: process.pid, holder, since: new Date().toISOString() };
  let taken = false;
  for (let attempt = 0; attempt < 2 && !taken; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(mine), { flag: 'wx', mode: 0o600 });
      taken = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = dataDirLockOwner(dir);
      if (owner) throw new DataDirInUseError(dir, owner);
      // Left by a process that is gone (or by this very process): take it over.
      fs.rmSync(file, { force: true });
    }
  }
  if (!taken) throw new Error(`Could not take the data directory lock ${file}`);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      const current = JSON.parse(fs.readFileSync(file, 'utf8')) as DataDirLockOwner;
      if (current.pid === process.pid && current.since === mine.since) fs.rmSync(file, { force: true });
    } catch {
      // Already gone.
    }
  };
  process.on('exit', release);
  return { file, release };
}
