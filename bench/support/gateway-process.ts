/**
 * The gateway as its own process for benchmarks: the production build (`node dist/src/main.js`)
 * spawned with the benchmark environment, its "listening" line awaited, stopped with SIGTERM.
 */
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..', '..');
const BIG = '100000000';

/** Server mode on plain PostgreSQL, rate limits on but out of reach, rollup maintenance off. */
export function benchGatewayEnv(o: { databaseUrl: string; redisUrl: string; redisKeyPrefix: string }): Record<string, string> {
  return {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATABASE_URL: o.databaseUrl,
    DATABASE_MODE: 'postgres',
    REDIS_URL: o.redisUrl,
    REDIS_KEY_PREFIX: o.redisKeyPrefix,
    CACHE_WARM_ON_START: 'false',
    ROLLUP_REFRESH_INTERVAL_MS: '0',
    ...Object.fromEntries(['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING'].flatMap((r) => [[`RATE_LIMIT_${r}_PER_MINUTE`, BIG], [`RATE_LIMIT_${r}_BURST`, BIG]])),
    MAX_COST_PER_OPERATION: '50000',
    RATE_LIMIT_FIELD_LIMITS: `searchTraces=${BIG},exportTraces=10,compareModels=${BIG}`,
  };
}

/** Spawns a server and waits for its "listening <url>" line (or the gateway's JSON log line). */
export function startChild(command: string, args: string[], env: Record<string, string>, withIpc = false, cwd = ROOT): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', ...(withIpc ? (['ipc'] as const) : [])] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      // A process that never said it listens is not left running behind the benchmark.
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start:\n${out}`));
    }, 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const plain = /listening (http\S+)/.exec(out);
      const json = /"url":"(http[^"]+)"[^\n]*gateway listening/.exec(out);
      const url = plain?.[1] ?? json?.[1];
      if (url) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ child, url });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}:\n${out}`)));
  });
}

/** SIGTERM, then SIGKILL after `graceMs` if it has not exited. */
export function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

