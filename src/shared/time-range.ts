import { badInput } from './errors';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Parses a relative duration like "15m", "24h", "30d", "2w" into milliseconds. */
export function parseRelativeDuration(text: string, argName = 'last'): number {
  const m = /^\s*(\d{1,6})\s*([smhdw])\s*$/.exec(text);
  if (!m) {
    throw badInput(`${argName} must look like "15m", "24h", "7d" or "2w"`, { argument: argName, value: text });
  }
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms <= 0) throw badInput(`${argName} must be greater than zero`, { argument: argName, value: text });
  return ms;
}

export interface ResolvedRange {
  readonly from: Date;
  readonly to: Date;
}

export interface RangeInput {
  from?: Date | null;
  to?: Date | null;
  last?: string | null;
}

/**
 * Resolves absolute or relative ranges against `now`. Relative ranges are quantized to
 * `quantumMs` (the end rounded up) so that a dashboard asking every few seconds asks the same
 * question; `retentionDays` bounds how far back a range may start.
 */
export function resolveRange(
  input: RangeInput,
  opts: { now?: Date; retentionDays: number; quantumMs?: number; required?: boolean },
): ResolvedRange | null {
  const now = opts.now ?? new Date();
  const hasAbsolute = input.from != null || input.to != null;
  if (input.last != null && hasAbsolute) {
    throw badInput('Give either `last` or `from`/`to`, not both');
  }
  let from: Date;
  let to: Date;
  if (input.last != null) {
    const span = parseRelativeDuration(input.last);
    const q = opts.quantumMs ?? 0;
    const end = q > 0 ? Math.ceil(now.getTime() / q) * q : now.getTime();
    to = new Date(end);
    from = new Date(end - span);
  } else if (hasAbsolute) {
    if (input.from == null || input.to == null) {
      if (!opts.required && input.from != null) {
        from = input.from;
        to = new Date(now.getTime() + 1000);
      } else if (!opts.required && input.to != null) {
        // Open start: everything still retained before `to`.
        from = new Date(now.getTime() - opts.retentionDays * 86_400_000);
        to = input.to;
      } else {
        throw badInput('An absolute range needs both `from` and `to`');
      }
    } else {
      from = input.from;
      to = input.to;
    }
  } else {
    if (opts.required) throw badInput('A time range is required: give `last` or `from` and `to`');
    return null;
  }
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw badInput('Invalid date in range');
  if (from.getTime() >= to.getTime()) {
    throw badInput('`from` must be before `to`', { from: from.toISOString(), to: to.toISOString() });
  }
  const oldest = now.getTime() - opts.retentionDays * 86_400_000;
  if (from.getTime() < oldest - 86_400_000) {
    throw badInput(`The range starts before the ${opts.retentionDays}-day retention window`, {
      from: from.toISOString(),
      retentionDays: opts.retentionDays,
    });
  }
  // A calendar month asked whole (`to` = the first of next month, in any time zone) is fine;
  // anything later is a mistake: the end of the current month plus a day (zones ahead of or
  // behind UTC), or a day from now when that is later.
  const latest = Math.max(now.getTime() + 86_400_000, Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) + 86_400_000);
  if (to.getTime() > latest) {
    throw badInput('The range ends after the end of the current calendar month', { to: to.toISOString(), latest: new Date(latest).toISOString() });
  }
  return { from, to };
}
