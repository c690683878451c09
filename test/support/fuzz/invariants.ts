import type { ValuePools } from './hostile-values';

/** PostgreSQL's and the driver's message shapes: none may reach a client. */
export const DATABASE_TEXT = /invalid byte sequence|invalid input syntax|out of range for type|date\/time field|syntax error at or near|relation "|column "|violates .* constraint|SQLSTATE|operator does not exist|function .*\(.*\) does not exist|pg_catalog|duplicate key|could not |canceling statement/i;

export interface FuzzAnswer {
  readonly status: number;
  readonly text: string;
  readonly contentType: string | null;
}

/**
 * What must hold for every answer: no 5xx; JSON with coded errors from the closed set, never
 * INTERNAL_SERVER_ERROR; no database text; no id of another org's rows in the data, and
 * `orgId` is always the caller's. Returns the broken invariant, or null.
 */
export function brokenInvariant(a: FuzzAnswer, pools: ValuePools, ownOrg: string): string | null {
  if (a.status >= 500) return `HTTP ${a.status}`;
  let body: any;
  try {
    body = JSON.parse(a.text);
  } catch {
    return `non-JSON answer (HTTP ${a.status})`;
  }
  if (DATABASE_TEXT.test(a.text)) return 'database text in the answer';
  const answers = Array.isArray(body) ? body : [body];
  for (const b of answers) {
    if (!b || typeof b !== 'object') return 'answer is not an object';
    for (const e of b.errors ?? []) {
      const code = e?.extensions?.code;
      if (typeof code !== 'string') return `uncoded error: ${String(e?.message).slice(0, 100)}`;
      if (code === 'INTERNAL_SERVER_ERROR') return `INTERNAL_SERVER_ERROR: ${String(e?.message).slice(0, 100)}`;
    }
    const leak = foreignIn(b.data, pools, ownOrg);
    if (leak) return leak;
  }
  return null;
}

const ID_FIELD = /^(id|[a-z]+Ids?)$/;
/** Fields that only echo an argument back (purgeCache says which project it was asked about). */
const ECHOES = new Set(['PurgeResult.projectId']);

function foreignIn(data: unknown, pools: ValuePools, ownOrg: string): string | null {
  const foreign = new Set([...pools.foreign.traceIds, ...pools.foreign.projectIds, ...pools.foreign.orgIds]);
  const foreignProjects = new Set(pools.foreign.projectIds);
  const stack: [unknown, string, string][] = [[data, '', '']];
  while (stack.length) {
    const [v, key, parent] = stack.pop()!;
    if (typeof v === 'string') {
      // Only ids: free text the fuzzer wrote itself (an API key's name) may echo anything.
      // A project's id is chosen by whoever creates it (createProject): it may equal another org's
      // trace id, which is no leak; only another org's *project* id would be one. The same holds
      // wherever such a project is referred to (a key limited to it: ApiKey.projectIds; a
      // session's or trace's projectId).
      const namesProject = (parent === 'Project' && key === 'id') || key === 'projectId' || key === 'projectIds';
      const suspects = namesProject ? foreignProjects : foreign;
      if (ID_FIELD.test(key) && !ECHOES.has(`${parent}.${key}`) && suspects.has(v)) return `another org's id ${v} in the data (${key})`;
      if (key === 'orgId' && v !== ownOrg) return `orgId ${v} is not the caller's`;
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push([x, key, parent]);
    } else if (v && typeof v === 'object') {
      const typename = String((v as { __typename?: unknown }).__typename ?? '');
      for (const [k, x] of Object.entries(v)) stack.push([x, k, typename]);
    }
  }
  return null;
}
