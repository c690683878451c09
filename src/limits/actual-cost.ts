import { getNamedType, isLeafType, isObjectType, type FieldNode, type FragmentDefinitionNode, type GraphQLObjectType, type OperationDefinitionNode } from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import { getArgumentValues } from 'graphql/execution/values';
import { CACHED_FIELD_COST, CostRules, INTROSPECTION_COST, isListField } from './cost-rules';

export interface ActualCostInput {
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  /** The response's data (null or absent when nothing ran). */
  data: Record<string, unknown> | null | undefined;
  /** Root response keys answered from the per-field cache. */
  cachedRootKeys?: ReadonlySet<string>;
  /** Root response keys refused before doing any work (FORBIDDEN, BAD_USER_INPUT at the field): not charged. */
  refusedRootKeys?: ReadonlySet<string>;
}

/**
 * What an operation really cost, by the same rules as the estimate but over the rows really
 * returned: lists count their actual items, null answers cost only their own weight, and root
 * fields served from the cache cost CACHED_FIELD_COST. The difference to the estimate is refunded.
 */
export function actualCost(rules: CostRules, input: ActualCostInput): number {
  const { schema } = rules;
  if (!input.data) return 0;
  const rootType = input.operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (!rootType) return 0;
  const walk = new ActualCostWalk(rules, input, memoOf(rules, input));
  let total = 0;
  for (const [key, nodes] of walk.rootFields(rootType)) {
    // Cached root fields may be absent here: the cache plugin assembles them into the response later.
    if (input.cachedRootKeys?.has(key)) {
      total += CACHED_FIELD_COST;
      continue;
    }
    // Refused before any work (nothing read): free, like a request refused as a whole.
    if (input.refusedRootKeys?.has(key)) continue;
    total += walk.fieldCost(rootType, nodes, input.data[key], false);
  }
  return Math.ceil(total);
}

type FieldDef = NonNullable<ReturnType<GraphQLObjectType['getFields']>[string]>;

/** What the rules say about one field of the selection under one parent type: all but its values. */
interface FieldPlan {
  /** 0 for __typename and fields the type lacks; INTROSPECTION_COST for __schema/__type. */
  readonly flat: number | null;
  readonly weight: number;
  /** Arguments' weights plus the field's work (analytics estimators). */
  readonly extra: number;
  readonly list: boolean;
  /** The object type of its items, or null for leaves (scalars, enums, abstract types). */
  readonly object: GraphQLObjectType | null;
  readonly sized: boolean;
  readonly sizedChildren: readonly string[];
}

/**
 * The walk's memo: root fields, subfields and field plans depend on the document, its variables
 * and the rules only, never on the data, so one memo serves every response to the same compiled
 * operation (its variables object is kept with the cached price). A dashboard's repeated report
 * then walks only its values: no collectFields, argument coercion or analytics estimate again.
 */
interface WalkMemo {
  readonly operation: OperationDefinitionNode;
  root: Map<string, ReadonlyArray<FieldNode>> | null;
  readonly subfields: Map<ReadonlyArray<FieldNode>, Map<GraphQLObjectType, Map<string, ReadonlyArray<FieldNode>>>>;
  readonly plans: Map<FieldNode, Map<GraphQLObjectType, FieldPlan>>;
}

const memos = new WeakMap<object, WeakMap<CostRules, WalkMemo>>();

function memoOf(rules: CostRules, input: ActualCostInput): WalkMemo {
  // Keyed by the variables object (one per compiled price) and, inside, the document's operation.
  let byRules = memos.get(input.variables);
  if (!byRules) memos.set(input.variables, (byRules = new WeakMap()));
  let memo = byRules.get(rules);
  if (!memo || memo.operation !== input.operation) {
    memo = { operation: input.operation, root: null, subfields: new Map(), plans: new Map() };
    byRules.set(rules, memo);
  }
  return memo;
}

/** One response's walk: the field rules over the values returned. */
class ActualCostWalk {
  constructor(
    private readonly rules: CostRules,
    private readonly input: ActualCostInput,
    private readonly memo: WalkMemo,
  ) {}

  rootFields(rootType: GraphQLObjectType): Map<string, ReadonlyArray<FieldNode>> {
    return (this.memo.root ??= collectFields(this.rules.schema, this.input.fragments, this.input.variables, rootType, this.input.operation.selectionSet));
  }

  fieldCost(parent: GraphQLObjectType, nodes: ReadonlyArray<FieldNode>, value: unknown, sized: boolean): number {
    const plan = this.planOf(parent, nodes[0]!);
    if (plan.flat !== null) return plan.flat;
    const { weight, extra } = plan;
    if (value == null) return plan.list ? extra : weight + extra;
    const named = plan.object;
    if (!named) {
      if (!Array.isArray(value)) return weight + extra;
      const n = value.flat(Infinity).length;
      return extra + weight * (plan.sized || sized ? n : Math.min(1, n));
    }
    const fields = this.subfields(named, nodes);
    if (!Array.isArray(value)) return weight + extra + this.objectCost(named, fields, value as Record<string, unknown>, plan.sizedChildren);
    // Sized lists are charged per item; unsized ones (bounded by their parent's work) as one item.
    const perItem = plan.sized || sized;
    let sum = 0;
    let max = -Infinity;
    for (const item of (value as unknown[]).flat(Infinity)) {
      if (item == null || typeof item !== 'object') continue;
      const cost = weight + this.objectCost(named, fields, item as Record<string, unknown>, plan.sizedChildren);
      sum += cost;
      if (cost > max) max = cost;
    }
    return extra + (perItem ? sum : max === -Infinity ? 0 : max);
  }

  private objectCost(type: GraphQLObjectType, fields: Map<string, ReadonlyArray<FieldNode>>, value: Record<string, unknown>, sizedFields: readonly string[]): number {
    let sum = 0;
    for (const [key, nodes] of fields) sum += this.fieldCost(type, nodes, value[key], sizedFields.length > 0 && sizedFields.includes(nodes[0]!.name.value));
    return sum;
  }

  private planOf(parent: GraphQLObjectType, node: FieldNode): FieldPlan {
    let byParent = this.memo.plans.get(node);
    if (!byParent) this.memo.plans.set(node, (byParent = new Map()));
    let plan = byParent.get(parent);
    if (!plan) byParent.set(parent, (plan = this.makePlan(parent, node)));
    return plan;
  }

  private makePlan(parent: GraphQLObjectType, node: FieldNode): FieldPlan {
    const name = node.name.value;
    const flat = (cost: number): FieldPlan => ({ flat: cost, weight: 0, extra: 0, list: false, object: null, sized: false, sizedChildren: [] });
    if (name === '__typename' || parent.name.startsWith('__')) return flat(0);
    if (name === '__schema' || name === '__type') return flat(INTROSPECTION_COST);
    const def = parent.getFields()[name];
    if (!def) return flat(0);
    const { rules } = this;
    const args = this.argsOf(def, node);
    const named = getNamedType(def.type);
    const ls = rules.listSizeOf(def);
    return {
      flat: null,
      weight: rules.weightOf(def),
      extra: rules.argumentsWeight(def, args) + rules.fieldWork(parent.name, name, args),
      list: isListField(def.type),
      object: !isLeafType(named) && isObjectType(named) ? named : null,
      sized: ls !== null,
      sizedChildren: ls?.sizedFields ?? [],
    };
  }

  private subfields(type: GraphQLObjectType, nodes: ReadonlyArray<FieldNode>): Map<string, ReadonlyArray<FieldNode>> {
    let byType = this.memo.subfields.get(nodes);
    if (!byType) this.memo.subfields.set(nodes, (byType = new Map()));
    let fields = byType.get(type);
    if (!fields) byType.set(type, (fields = collectSubfields(this.rules.schema, this.input.fragments, this.input.variables, type, nodes)));
    return fields;
  }

  private argsOf(def: FieldDef, node: FieldNode): Record<string, unknown> {
    try {
      return getArgumentValues(def, node, this.input.variables);
    } catch {
      return {};
    }
  }
}
