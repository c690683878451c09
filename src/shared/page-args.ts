import { badInput } from './errors';
import { MAX_PAGE_SIZE } from './page-size';

/** Relay connection arguments: forward (first/after) or backward (last/before), never both. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface PageRequest {
  /** Rows on the page. */
  readonly size: number;
  /** true: the `size` rows just before `cursor` (or the last rows), answered in the connection's own order. */
  readonly backward: boolean;
  readonly cursor: string | null;
  /** The argument the cursor came from, for error messages. */
  readonly cursorArgument: 'after' | 'before';
}

export const DEFAULT_PAGE_SIZE = 50;

export function resolvePageArgs(a: PageArgs, defaultSize = DEFAULT_PAGE_SIZE): PageRequest {
  const forward = a.first != null || a.after != null;
  const backward = a.last != null || a.before != null;
  if (forward && backward) {
    throw badInput('Page forward with first/after or backward with last/before, not both', { argument: a.first != null || a.after != null ? 'last' : 'first' });
  }
  const name = backward ? 'last' : 'first';
  const size = (backward ? a.last : a.first) ?? defaultSize;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw badInput(`${name} must be between 1 and ${MAX_PAGE_SIZE}`, { argument: name, max: MAX_PAGE_SIZE });
  }
  return { size, backward, cursor: (backward ? a.before : a.after) ?? null, cursorArgument: backward ? 'before' : 'after' };
}

/**
 * Both PageInfo flags from two reads: the page (asked with one extra row, in the reading
 * direction) and whether any row lies on the other side of the cursor (the cursor's own row
 * included; false without a cursor).
 */
export function pageFlags(page: PageRequest, fetched: number, beyondCursor: boolean): { hasNextPage: boolean; hasPreviousPage: boolean } {
  const more = fetched > page.size;
  return page.backward ? { hasPreviousPage: more, hasNextPage: beyondCursor } : { hasNextPage: more, hasPreviousPage: beyondCursor };
}
