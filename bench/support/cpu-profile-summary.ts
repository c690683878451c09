import fs from 'node:fs';
import path from 'node:path';

/**
 * Top functions by self time of a V8 `.cpuprofile` (`node --cpu-prof`): each sample is charged
 * to the function on top of the stack. Functions are named `name (file:line)` with the path
 * shortened to the package or the repo-relative file.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTimeRow {
  readonly fn: string;
  readonly selfMs: number;
  readonly share: number;
}

const shorten = (url: string): string => {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  const repo = u.indexOf('/dist/');
  if (repo >= 0) return u.slice(repo + 1);
  return u.startsWith('node:') ? u : path.basename(u);
};

/** Milliseconds after the profile's start: only samples in [fromMs, toMs) count. */
export interface ProfileWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

export function selfTimes(profile: CpuProfile, window?: ProfileWindow): { totalMs: number; rows: SelfTimeRow[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let at = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    at += dt;
    if (window && (at < window.fromMs || at >= window.toMs)) return;
    const node = byId.get(id);
    if (!node) return;
    const f = node.callFrame;
    const name = `${f.functionName || '(anonymous)'}${f.url ? ` (${shorten(f.url)}:${f.lineNumber + 1})` : ''}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  const rows = [...self]
    .map(([fn, ms]) => ({ fn, selfMs: Math.round(ms), share: Math.round((ms / total) * 1000) / 10 }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: Math.round(total), rows };
}

export function summarizeProfileFile(file: string, top = 25, window?: ProfileWindow): { totalMs: number; rows: SelfTimeRow[] } {
  const s = selfTimes(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, window);
  return { totalMs: s.totalMs, rows: s.rows.slice(0, top) };
}

export function profileTable(summary: { totalMs: number; rows: SelfTimeRow[] }): string {
  const lines = ['| self ms | share | function |', '|---|---|---|'];
  for (const r of summary.rows) lines.push(`| ${r.selfMs} | ${r.share} % | \`${r.fn}\` |`);
  return lines.join('\n');
}

// `npx tsx bench/support/cpu-profile-summary.ts <file.cpuprofile> [top]`
if (require.main === module) {
  const [file, top, fromMs, toMs] = process.argv.slice(2);
  if (!file) {
    console.error('usage: cpu-profile-summary <file.cpuprofile> [top] [fromMs toMs]');
    process.exit(2);
  }
  const s = summarizeProfileFile(file, Number(top ?? 25), fromMs ? { fromMs: Number(fromMs), toMs: Number(toMs ?? Infinity) } : undefined);
  console.log(`total ${s.totalMs} ms sampled\n`);
  console.log(profileTable(s));
}
