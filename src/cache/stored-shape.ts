import { Kind, type DocumentNode, type FieldNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { sha256 } from './cache-key';
import type { CanonSelection, OperationPlan } from './operation-plan';

/**
 * The shapes a cached field's JSON can take, and how to get from one to another.
 *
 * An entry's JSON has canonical names (no aliases) in the order of the request that filled it;
 * a request's projection says, per level, which response key reads which canonical key. Both
 * are summarized by a shape id: when a request's response shape id equals an entry's stored
 * shape id, the entry's text is that request's answer byte for byte.
 */

/** How to read a request's own shape out of a canonical value. */
export interface Projection {
  readonly entries: ReadonlyArray<{ readonly responseKey: string; readonly canonKey: string; readonly children?: Projection }>;
}

function shapeText(p: Projection): string {
  return p.entries.map((e) => `${JSON.stringify(e.responseKey)}<${JSON.stringify(e.canonKey)}${e.children ? `{${shapeText(e.children)}}` : ''}`).join(',');
}

/** A short id of the JSON shape a projection produces (keys, their order, nesting). */
export const shapeIdOf = (p: Projection): string => sha256(shapeText(p)).slice(0, 16);

/** The identity projection of the stored form: canonical names in the request's order. */
export function storedShapeOf(sel: CanonSelection): Projection {
  return { entries: sel.ordered.map((f) => ({ responseKey: f.key, canonKey: f.key, children: f.children ? storedShapeOf(f.children) : undefined })) };
}

/** A canonical value read back in a request's own aliases and order. */
export function project(value: unknown, projection: Projection | undefined): unknown {
  if (value === null || value === undefined || !projection) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, projection));
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const e of projection.entries) out[e.responseKey] = project(source[e.canonKey], e.children);
  return out;
}

/** The selection set that produces the stored shape: canonical names, the request's order. */
export function canonicalSelectionSet(sel: CanonSelection): SelectionSetNode {
  return {
    kind: Kind.SELECTION_SET,
    selections: sel.ordered.map((f) => ({
      kind: Kind.FIELD,
      // The original node's location: errors still point into the document the client sent.
      loc: f.nodes[0]!.loc,
      alias: f.key !== f.fieldName ? { kind: Kind.NAME, value: f.key } : undefined,
      name: { kind: Kind.NAME, value: f.fieldName },
      // The first node's arguments: every merged node has the same resolved values, and any
      // variables they reference are passed to execution unchanged.
      arguments: f.nodes[0]!.arguments,
      directives: [],
      selectionSet: f.children ? canonicalSelectionSet(f.children) : undefined,
    })),
  };
}

/**
 * The document to execute when some root fields were answered from the cache: the remaining
 * root fields only, cacheable ones with their canonical selection (so that the result can be
 * stored), the others as written. Fragments are kept for the latter.
 */
export function documentForMisses(plan: OperationPlan, toExecute: ReadonlySet<string>): DocumentNode {
  const selections: FieldNode[] = [];
  for (const f of plan.fields) {
    if (!toExecute.has(f.responseKey)) continue;
    if (!f.cache) {
      selections.push(...f.nodes);
      continue;
    }
    const first = f.nodes[0]!;
    selections.push({
      kind: Kind.FIELD,
      loc: first.loc,
      alias: { kind: Kind.NAME, value: f.responseKey },
      name: first.name,
      arguments: first.arguments,
      directives: [],
      selectionSet: canonicalSelectionSet(f.cache.selection),
    });
  }
  const operation: OperationDefinitionNode = { ...plan.operation, selectionSet: { kind: Kind.SELECTION_SET, selections } };
  return {
    kind: Kind.DOCUMENT,
    definitions: [operation, ...plan.document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)],
  };
}
