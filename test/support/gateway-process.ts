import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  /** SIGTERM, then the exit code (or a description when it hangs past 20 s). */
  stop(): Promise<number | string | null>;
}

/**
 * `node --import tsx src/main.ts` (the npm start path), waiting until its output matches `ready`
 * (default: the "gateway listening" log line); the pattern's first group is the GraphQL URL.
 */
export function startGatewayProcess(
  env: Record<string, string>,
  opts: { ready?: RegExp; timeoutMs?: number } = {},
): Promise<GatewayProcess> {
  const ready = opts.ready ?? /"url":"(http:\/\/[^"]+\/graphql)"/;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ROLLUP_REFRESH_INTERVAL_MS: '0', DEMO_LIVE: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const stop = () =>
    new Promise<number | string | null>((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
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
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start within ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`gateway exited early with ${code}:\n${out}`));
    };
    child.once('exit', onExit);
    const poll = setInterval(() => {
      const m = ready.exec(out);
      if (!m) return;
      clearInterval(poll);
      clearTimeout(timer);
      child.off('exit', onExit);
      // The first group that matched: a `ready` may list the log line and the banner in either order.
      resolve({ child, url: (m.slice(1).find((g) => g !== undefined) ?? m[1]) as string, output: () => out, stop });
    }, 50);
  });
}
