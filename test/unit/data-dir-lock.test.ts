import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataDirInUseError, LOCK_FILE, acquireDataDirLock, dataDirLockOwner } from '../../src/db/embedded/data-dir-lock';

const ROOT = path.resolve(__dirname, '../..');

/** Another process holding the lock (as a running gateway does), until killed. */
function holdInChild(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `require('./src/db/embedded/data-dir-lock').acquireDataDirLock(${JSON.stringify(dir)}, 'gateway'); console.log('held'); setInterval(() => {}, 1000);`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('held') && resolve(child));
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
}

describe('DATA_DIR lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a second process while the first lives, and takes over once it is gone', async () => {
    const child = await holdInChild(dir);
    try {
      expect(dataDirLockOwner(dir)).toMatchObject({ pid: child.pid, holder: 'gateway' });
      expect(() => acquireDataDirLock(dir, 'keys CLI')).toThrow(DataDirInUseError);
      expect(() => acquireDataDirLock(dir, 'keys CLI')).toThrow(/in use by the gateway \(pid \d+/);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    // SIGKILL left the file behind: a dead owner's lock is taken over.
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    expect(dataDirLockOwner(dir)).toBeNull();
    const lock = acquireDataDirLock(dir, 'keys CLI');
    expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, holder: 'keys CLI' });
    lock.release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });

  it('a garbled lock file does not block anyone', () => {
    fs.writeFileSync(path.join(dir, LOCK_FILE), 'not json');
    const lock = acquireDataDirLock(dir, 'gateway');
    lock.release();
    lock.release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });
});
