import {
  GraphQLObjectType,
  Kind,
  TypeNameMetaFieldDef,
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isObjectType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import type { Viewer } from '../auth/viewer';
import { cacheKeyFor, sha256, stableStringify } from './cache-key';

/**
 * Splits an operation into root fields and, for each cacheable one, computes the normalized
 * form that its cache entry stores.
 *
 * Normalization: fragments are expanded, @include/@skip evaluated, aliases dropped (a field is
 * identified by name + resolved arguments), field order sorted. Entries store data in that
 * canonical shape; `project` re-applies each request's own aliases and order on the way out.
 * So `{ a: traces { nodes { id } } }` and `{ traces { nodes { id } } }` share one entry, and
 * `$first` = 5 vs an inline `first: 5` too, while `first: 6` does not.
 */

/** One distinct (field, arguments) at one level of the canonical selection. */
export interface CanonField {
  /** Response key in the stored shape: the field name, or name + argument hash when a field
   *  is selected with several argument sets at one level. */
  readonly key: string;
  readonly fieldName: string;
  readonly argsText: string;
  /** Every node selecting this (field, arguments), merged: their sub-selections are unioned. */
  readonly nodes: readonly FieldNode[];
  readonly children?: CanonSelection;
}

export interface CanonSelection {
  readonly fields: readonly CanonField[];
  readonly byIdentity: ReadonlyMap<string, CanonField>;
}

/** How to read a request's own shape out of a canonical value. */
export interface Projection {
  readonly entries: ReadonlyArray<{ readonly responseKey: string; readonly canonKey: string; readonly children?: Projection }>;
}

export interface CachedFieldPlan {
  readonly key: string;
  readonly ttlSeconds: number;
  readonly selection: CanonSelection;
  readonly projection: Projection;
}

export interface RootFieldPlan {
  readonly responseKey: string;
  readonly fieldName: string;
  readonly nodes: readonly FieldNode[];
  /** Absent: executed every time (not cacheable, or its arguments do not coerce). */
  readonly cache?: CachedFieldPlan;
}

export interface OperationPlan {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly fields: readonly RootFieldPlan[];
  /** Every root field is cacheable (and the operation is a query). */
  readonly allCacheable: boolean;
}

type Fragments = Record<string, FragmentDefinitionNode>;

interface Walk {
  readonly schema: GraphQLSchema;
  readonly fragments: Fragments;
  readonly variables: Record<string, unknown>;
}

export interface PlanInput {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string | null;
  readonly variables?: Readonly<Record<string, unknown>> | null;
  readonly viewer: Pick<Viewer, 'orgId' | 'role' | 'projectIds'>;
  readonly ttls: ReadonlyMap<string, number>;
  readonly keyPrefix: string;
}

/** null when there is nothing to cache: not a query, no such operation, or bad variables. */
export function planOperation(input: PlanInput): OperationPlan | null {
  const { schema, document } = input;
  const operation = getOperationAST(document, input.operationName ?? undefined);
  const queryType = schema.getQueryType();
  if (!operation || operation.operation !== 'query' || !queryType) return null;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], input.variables ?? {});
  if (coerced.errors) return null;
  const fragments: Fragments = {};
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments[def.name.value] = def;
  const walk: Walk = { schema, fragments, variables: coerced.coerced };
  const roots = collectFields(schema, fragments, walk.variables, queryType, operation.selectionSet);
  const fields: RootFieldPlan[] = [];
  for (const [responseKey, nodes] of roots) {
    const fieldName = nodes[0]!.name.value;
    const ttlSeconds = input.ttls.get(fieldName);
    const def = queryType.getFields()[fieldName];
    let cache: CachedFieldPlan | undefined;
    if (ttlSeconds && def) {
      try {
        cache = planCachedField(walk, input, def, nodes, ttlSeconds);
      } catch {
        cache = undefined; // bad arguments: execution reports them
      }
    }
    fields.push({ responseKey, fieldName, nodes, cache });
  }
  return { document, operation, fields, allCacheable: fields.length > 0 && fields.every((f) => f.cache) };
}

function planCachedField(walk: Walk, input: PlanInput, def: GraphQLField<unknown, unknown>, nodes: readonly FieldNode[], ttlSeconds: number): CachedFieldPlan | undefined {
  const args = getArgumentValues(def, nodes[0]!, walk.variables);
  const type = getNamedType(def.type);
  if (!isObjectType(type)) return undefined; // every cacheable root field returns an object
  const selection = canonicalize(walk, type, nodes);
  const key = cacheKeyFor({ prefix: input.keyPrefix, resource: def.name, viewer: input.viewer, args, selection: signatureOf(selection) });
  return { key, ttlSeconds, selection, projection: projectionFor(walk, selection, type, nodes) };
}

function fieldDefOf(parent: GraphQLObjectType, name: string): GraphQLField<unknown, unknown> | undefined {
  return name === '__typename' ? (TypeNameMetaFieldDef as GraphQLField<unknown, unknown>) : parent.getFields()[name];
}

function identityOf(walk: Walk, parent: GraphQLObjectType, node: FieldNode): { def: GraphQLField<unknown, unknown>; argsText: string; id: string } {
  const def = fieldDefOf(parent, node.name.value);
  if (!def) throw new Error(`unknown field ${parent.name}.${node.name.value}`);
  const argsText = stableStringify(getArgumentValues(def, node, walk.variables));
  return { def, argsText, id: `${node.name.value}${argsText}` };
}

function canonicalize(walk: Walk, parent: GraphQLObjectType, nodes: readonly FieldNode[]): CanonSelection {
  const groups = new Map<string, { def: GraphQLField<unknown, unknown>; argsText: string; nodes: FieldNode[] }>();
  for (const fieldNodes of collectSubfields(walk.schema, walk.fragments, walk.variables, parent, nodes).values()) {
    const { def, argsText, id } = identityOf(walk, parent, fieldNodes[0]!);
    const g = groups.get(id);
    if (g) g.nodes.push(...fieldNodes);
    else groups.set(id, { def, argsText, nodes: [...fieldNodes] });
  }
  const variantsPerName = new Map<string, number>();
  for (const g of groups.values()) variantsPerName.set(g.def.name, (variantsPerName.get(g.def.name) ?? 0) + 1);
  const byIdentity = new Map<string, CanonField>();
  for (const [id, g] of groups) {
    const key = variantsPerName.get(g.def.name)! > 1 ? `${g.def.name}__c${sha256(g.argsText).slice(0, 10)}` : g.def.name;
    const type = getNamedType(g.def.type);
    if (!isObjectType(type) && (g.nodes[0]!.selectionSet || type === undefined)) throw new Error('abstract types are not cached');
    const children = isObjectType(type) ? canonicalize(walk, type, g.nodes) : undefined;
    byIdentity.set(id, { key, fieldName: g.def.name, argsText: g.argsText, nodes: g.nodes, children });
  }
  const fields = [...byIdentity.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { fields, byIdentity };
}

function projectionFor(walk: Walk, canon: CanonSelection, parent: GraphQLObjectType, nodes: readonly FieldNode[]): Projection {
  const entries: Projection['entries'][number][] = [];
  for (const [responseKey, fieldNodes] of collectSubfields(walk.schema, walk.fragments, walk.variables, parent, nodes)) {
    const { def, id } = identityOf(walk, parent, fieldNodes[0]!);
    const cf = canon.byIdentity.get(id)!;
    const type = getNamedType(def.type);
    entries.push({ responseKey, canonKey: cf.key, children: cf.children && isObjectType(type) ? projectionFor(walk, cf.children, type, fieldNodes) : undefined });
  }
  return { entries };
}

/** Canonical text of a selection: what the key's hash covers. */
export function signatureOf(sel: CanonSelection): string {
  return sel.fields.map((f) => `${f.key}=${f.fieldName}${f.argsText}${f.children ? `{${signatureOf(f.children)}}` : ''}`).join(',');
}

/** The selection set that produces the canonical (stored) shape. */
export function canonicalSelectionSet(sel: CanonSelection): SelectionSetNode {
  return {
    kind: Kind.SELECTION_SET,
    selections: sel.fields.map((f) => ({
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

/** A canonical value read back in a request's own aliases and order. */
export function project(value: unknown, projection: Projection | undefined): unknown {
  if (value === null || value === undefined || !projection) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, projection));
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const e of projection.entries) out[e.responseKey] = project(source[e.canonKey], e.children);
  return out;
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
