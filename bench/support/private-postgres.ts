import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedPort } from '../../test/support/tcp-proxy';

/**
 * A PostgreSQL cluster of the benchmark's own (initdb into a temp dir, a spare port, its socket
 * in that dir), so that a real restart can be replayed without touching the shared server.
 * Under root the server binaries run as `postgres` (PostgreSQL refuses to run as root).
 */
export interface PrivatePostgres {
  readonly port: number;
  readonly url: (database?: string) => string;
  /** pg_ctl stop -m fast: backends terminated (57P01), new connections refused. */
  stop(): void;
  start(): void;
  /** Stop (immediately) and remove the directory. */
  destroy(): void;
}

function binDir(): string | null {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates = [fromConfig.stdout?.trim(), ...(fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`) : [])];
  return candidates.find((d) => d && fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl'))) ?? null;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  if (!bin) throw new Error('initdb/pg_ctl not found');
  const root = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-faults-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  if (root) spawnSync('chown', ['postgres:postgres', dir]);
  const run = (tool: string, args: string[]) => {
    const cmd = root ? ['runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]] : [path.join(bin, tool), args];
    const r = spawnSync(cmd[0] as string, cmd[1] as string[], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : ''}`);
  };
  const port = await closedPort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const self: PrivatePostgres = {
      port,
      url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
      stop: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
      start: () => run('pg_ctl', ['-D', data, '-o', options, '-l', log, '-w', 'start']),
      destroy: () => {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // already stopped
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    self.start();
    return self;
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
