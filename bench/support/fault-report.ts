import type { Outcome } from '../../test/support/keepalive-load';

/** One row of the bench:faults table: what the clients saw while a phase lasted. */
export interface PhaseRow {
  readonly phase: string;
  readonly requests: number;
  readonly ok: number;
  /** Requests whose body carried each error code (a request with two codes counts in both). */
  readonly errorsByCode: Record<string, number>;
  readonly http5xx: number;
  readonly internalErrors: number;
  /** Socket-level outcomes: reset, refused, timeout, other. */
  readonly failures: Record<string, number>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Longest wait for an answer (or a failure) in the phase. */
  readonly maxMs: number;
  /** Dependency back → the gateway using it again (see the phase's note). */
  readonly recoveryMs?: number;
  readonly note?: string;
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
const round = (x: number) => Math.round(x * 10) / 10;

export function summarize(phase: string, outcomes: readonly Outcome[], extra: Pick<PhaseRow, 'recoveryMs' | 'note'> = {}): PhaseRow {
  const errorsByCode: Record<string, number> = {};
  const failures: Record<string, number> = {};
  let ok = 0;
  let http5xx = 0;
  for (const o of outcomes) {
    if (o.failure) {
      failures[o.failure] = (failures[o.failure] ?? 0) + 1;
      continue;
    }
    if ((o.status ?? 0) >= 500) http5xx++;
    if (o.status === 200 && o.codes.length === 0) ok++;
    for (const c of new Set(o.codes)) errorsByCode[c] = (errorsByCode[c] ?? 0) + 1;
  }
  const answered = outcomes.filter((o) => !o.failure).map((o) => o.ms).sort((a, b) => a - b);
  return {
    phase,
    requests: outcomes.length,
    ok,
    errorsByCode,
    http5xx,
    internalErrors: errorsByCode.INTERNAL_SERVER_ERROR ?? 0,
    failures,
    p50Ms: round(quantile(answered, 0.5)),
    p99Ms: round(quantile(answered, 0.99)),
    maxMs: round(outcomes.reduce((m, o) => Math.max(m, o.ms), 0)),
    ...extra,
  };
}

const fmt = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '—';

export function formatTable(rows: readonly PhaseRow[]): string {
  const header = ['phase', 'requests', 'ok', 'errors by code', 'HTTP 5xx', 'INTERNAL', 'socket failures', 'p50 ms', 'p99 ms', 'max ms', 'recovery ms'];
  const lines = rows.map((r) => [
    r.phase,
    String(r.requests),
    String(r.ok),
    fmt(r.errorsByCode),
    String(r.http5xx),
    String(r.internalErrors),
    fmt(r.failures),
    String(r.p50Ms),
    String(r.p99Ms),
    String(r.maxMs),
    r.recoveryMs === undefined ? '—' : String(Math.round(r.recoveryMs)),
  ]);
  const out = ['| ' + header.join(' | ') + ' |', '|' + header.map(() => '---').join('|') + '|', ...lines.map((l) => '| ' + l.join(' | ') + ' |')];
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.phase}: ${r.note}`);
  return [...out, ...(notes.length ? ['', ...notes] : [])].join('\n');
}
