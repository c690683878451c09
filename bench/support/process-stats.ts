import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * What one server process uses, read from /proc (Linux): CPU time, resident memory and its TCP
 * connections by remote port (PostgreSQL, Redis). Benchmarks sample these while they drive load.
 */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU of the process so far, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) / CLK_TCK) * 1e6;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Established TCP connections the process holds to each of `ports` (remote side). */
export function connectionsTo(pid: number, ports: readonly number[]): Record<number, number> {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const out: Record<number, number> = Object.fromEntries(ports.map((p) => [p, 0]));
  for (const table of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const [, , remote, state, , , , , , inode] = cols as string[];
      if (state !== '01' || !inodes.has(inode!)) continue; // 01 = ESTABLISHED
      const port = parseInt(remote!.split(':')[1]!, 16);
      if (port in out) out[port]!++;
    }
  }
  return out;
}

/** Samples RSS and connections every `everyMs` until stopped; reports maxima. */
export function startSampler(pid: number, ports: readonly number[], everyMs = 250) {
  const max = { rss: 0, connections: Object.fromEntries(ports.map((p) => [p, 0])) as Record<number, number> };
  const sample = () => {
    try {
      max.rss = Math.max(max.rss, rssBytes(pid));
      const c = connectionsTo(pid, ports);
      for (const p of ports) max.connections[p] = Math.max(max.connections[p]!, c[p]!);
    } catch {
      // the process is gone
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return max;
    },
  };
}

/**
 * CPU used by a changing set of processes (e.g. the PostgreSQL backends of one database, which
 * come and go with the pool) between `start` and `stop`: each pid's CPU at its first sighting
 * is the baseline, except pids first seen after the start, which count from zero.
 */
export function startCpuMeter(pids: () => Promise<Array<number | { pid: number; kind: string }>>, everyMs = 250) {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  // CPU by what each process was doing when sampled: the delta since its previous sample goes to
  // the kind it shows now (a pooled connection changes kind between statements, so at this
  // sampling rate the split is approximate; the total is exact).
  const byKind = new Map<string, number>();
  let initial = true;
  const sample = async () => {
    for (const entry of await pids()) {
      const pid = typeof entry === 'number' ? entry : entry.pid;
      const kind = typeof entry === 'number' ? 'all' : entry.kind;
      let us: number;
      try {
        us = cpuMicros(pid);
      } catch {
        continue; // gone meanwhile
      }
      if (!first.has(pid)) first.set(pid, initial ? us : 0);
      const prev = last.get(pid) ?? first.get(pid)!;
      byKind.set(kind, (byKind.get(kind) ?? 0) + (us - prev));
      last.set(pid, us);
    }
    initial = false;
  };
  const ready = sample();
  const timer = setInterval(() => void sample().catch(() => undefined), everyMs);
  return {
    ready,
    async stop(): Promise<number> {
      clearInterval(timer);
      await sample().catch(() => undefined);
      let total = 0;
      for (const [pid, us] of last) total += us - (first.get(pid) ?? 0);
      return total;
    },
    /** CPU µs by kind so far (after stop: over the whole window). */
    byKind: (): Record<string, number> => Object.fromEntries(byKind),
  };
}

/**
 * User + system CPU of the local PostgreSQL server so far, in microseconds: every live
 * `postgres` process (postmaster, backends, background workers) plus what the postmaster has
 * collected from children that already exited (parallel workers, closed backends), so a delta
 * over a run counts the database's whole share of the machine. 0 when none is visible.
 */
export function postgresCpuMicros(): number {
  let ticks = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (stat.slice(open + 1, close) !== 'postgres') continue;
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
    // The postmaster (its parent is not a postgres process) also carries its reaped children.
    if (!isPostgres(Number(fields[1]))) ticks += Number(fields[13]) + Number(fields[14]);
  }
  return (ticks / CLK_TCK) * 1e6;
}

function isPostgres(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'postgres';
  } catch {
    return false;
  }
}
