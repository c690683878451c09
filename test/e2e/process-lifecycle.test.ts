import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

interface Started {
  child: ChildProcess;
  url: string;
  keys: string[];
  ms: number;
  output: () => string;
}

/** Runs the gateway the way `npm start` does (tsx src/main.ts) and waits for its banner. */
function startProcess(dataDir: string): Promise<Started> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DEMO_TRACES: '3000', DEMO_DAYS: '3', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no banner within 90 s:\n${out}`)); }, 90_000);
    child.once('exit', (code) => reject(new Error(`exited early with ${code}:\n${out}`)));
    const poll = setInterval(() => {
      const m = /running at (http:\/\/\S+\/graphql)/.exec(out);
      if (m && /BILLING/.test(out)) {
        clearInterval(poll);
        clearTimeout(timer);
        child.removeAllListeners('exit');
        const keys = [...out.matchAll(/(obs_[a-z]+_[A-Za-z0-9_-]+)/g)].map((k) => k[1] as string);
        resolve({ child, url: m[1] as string, keys: [...new Set(keys)], ms: Date.now() - started, output: () => out });
      }
    }, 50);
  });
}

/** SIGTERM, and the exit code; a process that does not exit within 20 s is killed and reported. */
function stopProcess(child: ChildProcess): Promise<number | string | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('did not exit within 20 s of SIGTERM');
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

describe('the gateway process (npm start path)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-start-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('starts on the embedded default with demo data, serves, shuts down cleanly, and restarts on the same data', async () => {
    const first = await startProcess(dataDir);
    expect(first.keys.length).toBeGreaterThanOrEqual(4);
    const res = await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${first.keys[0]}` },
      body: JSON.stringify({ query: '{ traces(first: 2) { nodes { id } } }' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).data.traces.nodes).toHaveLength(2);
    expect(await stopProcess(first.child)).toBe(0);

    // Second start: same data directory, TimescaleDB re-loaded, same keys, no reseeding.
    const second = await startProcess(dataDir);
    expect(second.keys).toEqual(first.keys);
    const res2 = await fetch(second.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${second.keys[0]}` },
      body: JSON.stringify({ query: '{ traces(first: 1) { totalCount } }' }),
    });
    expect(((await res2.json()) as any).data.traces.totalCount).toBeGreaterThan(0);
    expect(await stopProcess(second.child)).toBe(0);
    process.stdout.write(`start-up: first ${first.ms} ms, second ${second.ms} ms\n`);
  });
});
