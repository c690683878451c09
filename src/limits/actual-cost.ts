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
  const walk = new ActualCostWalk(rules, input);
  let total = 0;
  for (const [key, nodes] of collectFields(schema, input.fragments, input.variables, rootType, input.operation.selectionSet)) {
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

/** One response's walk: the field rules over the values returned, with subfields and arguments memoised. */
class ActualCostWalk {
  private readonly subfieldMemo = new Map<ReadonlyArray<FieldNode>, Map<GraphQLObjectType, Map<string, ReadonlyArray<FieldNode>>>>();
  private readonly argsMemo = new Map<FieldNode, Record<string, unknown>>();

  constructor(
    private readonly rules: CostRules,
    private readonly input: ActualCostInput,
  ) {}

  fieldCost(parent: GraphQLObjectType, nodes: ReadonlyArray<FieldNode>, value: unknown, sized: boolean): number {
    const name = nodes[0]!.name.value;
    if (name === '__typename' || parent.name.startsWith('__')) return 0;
    if (name === '__schema' || name === '__type') return INTROSPECTION_COST;
    const def = parent.getFields()[name];
    if (!def) return 0;
    const { rules } = this;
    const args = this.argsOf(def, nodes[0]!);
    const weight = rules.weightOf(def);
    const extra = rules.argumentsWeight(def, args) + rules.fieldWork(parent.name, name, args);
    const named = getNamedType(def.type);
    const ls = rules.listSizeOf(def);
    if (value == null) return isListField(def.type) ? extra : weight + extra;
    if (isLeafType(named) || !isObjectType(named)) {
      if (!Array.isArray(value)) return weight + extra;
      const n = value.flat(Infinity).length;
      return extra + weight * (ls || sized ? n : Math.min(1, n));
    }
    const sizedChildren = ls?.sizedFields ?? [];
    const fields = this.subfields(named, nodes);
    if (!Array.isArray(value)) return weight + extra + this.objectCost(named, fields, value as Record<string, unknown>, sizedChildren);
    const items = (value as unknown[]).flat(Infinity).filter((v): v is Record<string, unknown> => v != null && typeof v === 'object');
    const costs = items.map((item) => weight + this.objectCost(named, fields, item, sizedChildren));
    // Sized lists are charged per item; unsized ones (bounded by their parent's work) as one item.
    if (ls || sized) return extra + costs.reduce((a, b) => a + b, 0);
    return extra + (costs.length ? Math.max(...costs) : 0);
  }

  private objectCost(type: GraphQLObjectType, fields: Map<string, ReadonlyArray<FieldNode>>, value: Record<string, unknown>, sizedFields: readonly string[]): number {
    let sum = 0;
    for (const [key, nodes] of fields) sum += this.fieldCost(type, nodes, value[key], sizedFields.includes(nodes[0]!.name.value));
    return sum;
  }

  private subfields(type: GraphQLObjectType, nodes: ReadonlyArray<FieldNode>): Map<string, ReadonlyArray<FieldNode>> {
    let byType = this.subfieldMemo.get(nodes);
    if (!byType) this.subfieldMemo.set(nodes, (byType = new Map()));
    let fields = byType.get(type);
    if (!fields) byType.set(type, (fields = collectSubfields(this.rules.schema, this.input.fragments, this.input.variables, type, nodes)));
    return fields;
  }

  private argsOf(def: FieldDef, node: FieldNode): Record<string, unknown> {
    let args = this.argsMemo.get(node);
    if (!args) {
      try {
        args = getArgumentValues(def, node, this.input.variables);
      } catch {
        args = {};
      }
      this.argsMemo.set(node, args);
    }
    return args;
  }
}
