import {
  Kind,
  getNamedType,
  getOperationAST,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  typeFromAST,
} from 'graphql';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';
import { collectFields } from 'graphql/execution/collectFields';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { AppError, ErrorCode } from '../shared/errors';
import { PRICING_RANGE_END } from './cost-estimators';
import { CostRules, INTROSPECTION_COST, isListField } from './cost-rules';

export interface PriceRequest {
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

export interface OperationPrice {
  /** Points; the number the server charges up front and the CLI prints. */
  cost: number;
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  /** Coerced variables (null when they do not coerce: execution will refuse the request). */
  variables: Record<string, unknown> | null;
  /** Executions of each root field after @skip/@include and merging (each alias is one call). */
  rootFieldCalls: Record<string, number>;
  /** The document asks rateLimit(dryRun: true): price it, run nothing else, charge nothing. */
  dryRun: boolean;
}

/** graphql-query-complexity visits at most this many selections before giving up (fragment bombs). */
export const MAX_PRICED_NODES = 20_000;

export const fragmentsOf = (document: DocumentNode): Record<string, FragmentDefinitionNode> =>
  Object.fromEntries(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));

/**
 * Prices one operation of a document, after its variables are applied: the server calls it in
 * didResolveOperation, the CLI for every operation it finds. Only the selected operation is
 * priced (never the sum of the document's operations), with its fragments, aliases, inline
 * fragments and @skip/@include evaluated as execution will.
 */
export function priceOperation(rules: CostRules, req: PriceRequest): OperationPrice {
  const operation = getOperationAST(req.document, req.operationName ?? undefined);
  if (!operation) throw new AppError(ErrorCode.BAD_USER_INPUT, req.operationName ? `Unknown operation ${req.operationName}` : 'Give operationName: the document has several operations');
  const fragments = fragmentsOf(req.document);
  const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...Object.values(fragments)] };
  const coerced = getVariableValues(rules.schema, operation.variableDefinitions ?? [], req.variables ?? {});
  if (coerced.errors) {
    // Execution refuses these variables before any resolver runs: nothing to price.
    return { cost: 0, operation, fragments, variables: null, rootFieldCalls: {}, dryRun: false };
  }
  let cost: number;
  try {
    cost = getComplexity({
      schema: rules.schema,
      query: single,
      variables: req.variables ?? {},
      estimators: [createCostEstimator(rules, fragments)],
      maxQueryNodes: MAX_PRICED_NODES,
    });
  } catch (err) {
    // Bad arguments found while pricing (a page size out of range) are the client's input error.
    if (err instanceof AppError && err.extensions.code === ErrorCode.BAD_USER_INPUT) {
      // Raised before execution: it needs its own HTTP status (a resolver's would be 200).
      const { code: _c, ...rest } = err.extensions;
      throw new AppError(ErrorCode.BAD_USER_INPUT, err.message, { ...rest, http: { status: 400 } });
    }
    const message = (err as Error).message ?? String(err);
    throw new AppError(ErrorCode.COST_LIMIT_EXCEEDED, `The operation cannot be priced: ${message}`, { maxNodes: MAX_PRICED_NODES });
  }
  const { rootFieldCalls, dryRun } = rootCallsOf(rules.schema, operation, fragments, coerced.coerced);
  return { cost: Math.ceil(cost), operation, fragments, variables: coerced.coerced, rootFieldCalls, dryRun };
}

function rootCallsOf(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>, variables: Record<string, unknown>) {
  const rootType = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  const rootFieldCalls: Record<string, number> = {};
  let dryRun = false;
  if (!rootType) return { rootFieldCalls, dryRun };
  for (const nodes of collectFields(schema, fragments, variables, rootType, operation.selectionSet).values()) {
    const name = nodes[0]!.name.value;
    rootFieldCalls[name] = (rootFieldCalls[name] ?? 0) + 1;
    if (name === 'rateLimit') {
      const def = rootType.getFields()[name];
      try {
        if (def && getArgumentValues(def, nodes[0]!, variables).dryRun === true) dryRun = true;
      } catch {
        // Invalid arguments: execution reports them.
      }
    }
  }
  return { rootFieldCalls, dryRun };
}

/**
 * The estimator: IBM cost-directive semantics over graphql-query-complexity's walk (which
 * evaluates fragments, aliases and @skip/@include with the variables). A connection's
 * `@listSize(sizedFields:)` multiplies the per-item cost of those child lists: children are
 * estimated before their parent, so each field records its per-item cost and the parent
 * consumes the records of its own direct selections.
 */
function createCostEstimator(rules: CostRules, fragments: Record<string, FragmentDefinitionNode>): ComplexityEstimator {
  const pending: { node: FieldNode; perItem: number }[] = [];
  const directMemo = new WeakMap<FieldNode, Set<FieldNode>>();
  const direct = (node: FieldNode) => {
    let set = directMemo.get(node);
    if (!set) {
      set = new Set();
      if (node.selectionSet) collectDirect(node.selectionSet, fragments, set, new Set());
      directMemo.set(node, set);
    }
    return set;
  };
  return ({ type, field, node, args, childComplexity }) => {
    if (type.name.startsWith('__') || field.name === '__typename') return 0;
    if (field.name === '__schema' || field.name === '__type') return INTROSPECTION_COST;
    const ls = rules.listSizeOf(field);
    let sizedPerItem = 0;
    if (pending.length && node.selectionSet) {
      const children = direct(node);
      for (let i = pending.length - 1; i >= 0; i--) {
        const p = pending[i]!;
        if (!children.has(p.node)) continue;
        if (ls?.sizedFields.includes(p.node.name.value)) sizedPerItem += p.perItem;
        pending.splice(i, 1);
      }
    }
    const weight = rules.weightOf(field);
    const extra = rules.argumentsWeight(field, args) + rules.fieldWork(type.name, field.name, args);
    // A list's items each cost the item type's weight plus their selection (IBM semantics).
    const list = isListField(field.type);
    const perItem = list ? weight + childComplexity : childComplexity;
    let cost: number;
    if (ls && ls.sizedFields.length) cost = weight + extra + childComplexity + (rules.expectedSize(ls, args) - 1) * sizedPerItem;
    else if (list) cost = extra + (ls ? rules.expectedSize(ls, args) : 1) * perItem;
    else cost = weight + extra + childComplexity;
    pending.push({ node, perItem });
    return Math.max(0, cost);
  };
}

function collectDirect(set: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, out: Set<FieldNode>, seen: Set<string>) {
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.add(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) collectDirect(s.selectionSet, fragments, out, seen);
    else if (!seen.has(s.name.value) && fragments[s.name.value]) {
      seen.add(s.name.value);
      collectDirect(fragments[s.name.value]!.selectionSet, fragments, out, seen);
    }
  }
}

/**
 * Values for variables a CI file does not provide: the worst plausible case where it matters
 * (Int: 1000, the largest page; Boolean: true, so @include'd parts count), a typical relative
 * range for String ("24h"), defaults where the operation declares them.
 */
export function placeholderVariables(schema: GraphQLSchema, operation: OperationDefinitionNode, given: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...given };
  for (const def of operation.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    if (name in out || def.defaultValue) continue;
    const type = typeFromAST(schema, def.type as never) as GraphQLInputType | undefined;
    if (type) out[name] = placeholderFor(type, 0);
  }
  return out;
}

function placeholderFor(type: GraphQLInputType, depth: number): unknown {
  if (isNonNullType(type)) return placeholderFor(type.ofType, depth);
  if (isListType(type)) return [placeholderFor(type.ofType as GraphQLInputType, depth)];
  if (isEnumType(type)) return type.getValues()[0]?.value;
  if (isInputObjectType(type)) {
    if (depth > 3) return {};
    const obj: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) {
      if (isNonNullType(f.type) && f.defaultValue === undefined) obj[f.name] = placeholderFor(f.type, depth + 1);
    }
    return obj;
  }
  if (isScalarType(type)) {
    switch (getNamedType(type).name) {
      case 'Int':
        return 1000;
      case 'Float':
        return 0;
      case 'Boolean':
        return true;
      case 'ID':
        return '00000000-0000-0000-0000-000000000000';
      case 'DateTime':
        return PRICING_RANGE_END.toISOString();
      case 'String':
        return '24h';
      default:
        return null;
    }
  }
  return null;
}

export { CostRules };
