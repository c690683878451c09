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
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import type { Viewer } from '../auth/viewer';
import { cacheKeyFor, sha256, stableStringify } from './cache-key';
import { shapeIdOf, storedShapeOf, type Projection } from './stored-shape';

export { canonicalSelectionSet, documentForMisses, project, type Projection } from './stored-shape';

/**
 * Splits an operation into root fields and, for each cacheable one, computes the normalized
 * form its cache entry is keyed by, and the shape it is stored in.
 *
 * Normalization (the key): fragments are expanded, @include/@skip evaluated, aliases dropped
 * (a field is identified by name + resolved arguments), field order sorted. So
 * `{ a: traces { nodes { id } } }` and `{ traces { nodes { id } } }` share one entry, and
 * `$first` = 5 vs an inline `first: 5` too, while `first: 6` does not.
 *
 * Storage (the value): the field is executed with canonical names (no aliases) in the order of
 * the request that filled the entry, and stored as that JSON text. A later request whose own
 * response shape is that stored shape (the common case: a dashboard asking the same thing
 * again) gets the stored text spliced into its response; any other spelling is re-projected.
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
  /** Sorted by key: what the cache key covers. */
  readonly fields: readonly CanonField[];
  /** In the request's order (first appearance): how the entry is executed and stored. */
  readonly ordered: readonly CanonField[];
  readonly byIdentity: ReadonlyMap<string, CanonField>;
}

export interface CachedFieldPlan {
  readonly key: string;
  readonly ttlSeconds: number;
  readonly selection: CanonSelection;
  readonly projection: Projection;
  /** Shape id of the JSON this request would store (canonical names, its own order). */
  readonly storedShape: string;
  /** Shape id of this request's own response for the field: equal to an entry's stored
   *  shape ⇒ the entry's text is the answer as is. */
  readonly responseShape: string;
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

export interface PlanContext {
  readonly viewer: Pick<Viewer, 'orgId' | 'role' | 'projectIds'>;
  readonly ttls: ReadonlyMap<string, number>;
  readonly keyPrefix: string;
}

export interface PlanInput extends PlanContext {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operationName?: string | null;
  readonly variables?: Readonly<Record<string, unknown>> | null;
}

/** Resolves the operation and its variables, then plans it (tests and tools; the server compiles). */
export function planOperation(input: PlanInput): OperationPlan | null {
  const operation = getOperationAST(input.document, input.operationName ?? undefined);
  if (!operation) return null;
  const coerced = getVariableValues(input.schema, operation.variableDefinitions ?? [], input.variables ?? {});
  if (coerced.errors) return null;
  const fragments: Fragments = {};
  for (const def of input.document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments[def.name.value] = def;
  return planResolvedOperation(input.schema, input.document, operation, fragments, coerced.coerced, input);
}

/** null when there is nothing to cache: not a query. Variables are the coerced ones. */
export function planResolvedOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  fragments: Fragments,
  variables: Record<string, unknown>,
  ctx: PlanContext,
): OperationPlan | null {
  const queryType = schema.getQueryType();
  if (operation.operation !== 'query' || !queryType) return null;
  const walk: Walk = { schema, fragments, variables };
  const roots = collectFields(schema, fragments, variables, queryType, operation.selectionSet);
  const fields: RootFieldPlan[] = [];
  for (const [responseKey, nodes] of roots) {
    const fieldName = nodes[0]!.name.value;
    const ttlSeconds = ctx.ttls.get(fieldName);
    const def = queryType.getFields()[fieldName];
    let cache: CachedFieldPlan | undefined;
    if (ttlSeconds && def) {
      try {
        cache = planCachedField(walk, ctx, def, nodes, ttlSeconds);
      } catch {
        cache = undefined; // bad arguments: execution reports them
      }
    }
    fields.push({ responseKey, fieldName, nodes, cache });
  }
  return { document, operation, fields, allCacheable: fields.length > 0 && fields.every((f) => f.cache) };
}

function planCachedField(walk: Walk, ctx: PlanContext, def: GraphQLField<unknown, unknown>, nodes: readonly FieldNode[], ttlSeconds: number): CachedFieldPlan | undefined {
  const args = getArgumentValues(def, nodes[0]!, walk.variables);
  const type = getNamedType(def.type);
  if (!isObjectType(type)) return undefined; // every cacheable root field returns an object
  const selection = canonicalize(walk, type, nodes);
  const key = cacheKeyFor({ prefix: ctx.keyPrefix, resource: def.name, viewer: ctx.viewer, args, selection: signatureOf(selection) });
  const projection = projectionFor(walk, selection, type, nodes);
  return { key, ttlSeconds, selection, projection, storedShape: shapeIdOf(storedShapeOf(selection)), responseShape: shapeIdOf(projection) };
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
  const ordered = [...byIdentity.values()];
  const fields = [...ordered].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { fields, ordered, byIdentity };
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

/** Canonical text of a selection: what the key's hash covers (sorted, so spelling-independent). */
export function signatureOf(sel: CanonSelection): string {
  return sel.fields.map((f) => `${f.key}=${f.fieldName}${f.argsText}${f.children ? `{${signatureOf(f.children)}}` : ''}`).join(',');
}
