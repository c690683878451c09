import { getNamedType, isLeafType, isObjectType, type FieldNode, type FragmentDefinitionNode, type GraphQLObjectType, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
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
  const memo = new Map<ReadonlyArray<FieldNode>, Map<GraphQLObjectType, Map<string, ReadonlyArray<FieldNode>>>>();
  const subfields = (type: GraphQLObjectType, nodes: ReadonlyArray<FieldNode>) => {
    let byType = memo.get(nodes);
    if (!byType) memo.set(nodes, (byType = new Map()));
    let fields = byType.get(type);
    if (!fields) byType.set(type, (fields = collectSubfields(schema, input.fragments, input.variables, type, nodes)));
    return fields;
  };
  const argsMemo = new Map<FieldNode, Record<string, unknown>>();

  const objectCost = (type: GraphQLObjectType, fields: Map<string, ReadonlyArray<FieldNode>>, value: Record<string, unknown>, sizedFields: readonly string[]): number => {
    let sum = 0;
    for (const [key, nodes] of fields) sum += fieldCost(type, nodes, value[key], sizedFields.includes(nodes[0]!.name.value));
    return sum;
  };

  const fieldCost = (parent: GraphQLObjectType, nodes: ReadonlyArray<FieldNode>, value: unknown, sized: boolean): number => {
    const name = nodes[0]!.name.value;
    if (name === '__typename' || parent.name.startsWith('__')) return 0;
    if (name === '__schema' || name === '__type') return INTROSPECTION_COST;
    const def = parent.getFields()[name];
    if (!def) return 0;
    let args = argsMemo.get(nodes[0]!);
    if (!args) {
      try {
        args = getArgumentValues(def, nodes[0]!, input.variables);
      } catch {
        args = {};
      }
      argsMemo.set(nodes[0]!, args);
    }
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
    const fields = subfields(named, nodes);
    if (!Array.isArray(value)) return weight + extra + objectCost(named, fields, value as Record<string, unknown>, sizedChildren);
    const items = (value as unknown[]).flat(Infinity).filter((v): v is Record<string, unknown> => v != null && typeof v === 'object');
    const costs = items.map((item) => weight + objectCost(named, fields, item, sizedChildren));
    // Sized lists are charged per item; unsized ones (bounded by their parent's work) as one item.
    if (ls || sized) return extra + costs.reduce((a, b) => a + b, 0);
    return extra + (costs.length ? Math.max(...costs) : 0);
  };

  let total = 0;
  for (const [key, nodes] of collectFields(schema, input.fragments, input.variables, rootType, input.operation.selectionSet)) {
    // Cached root fields may be absent here: the cache plugin assembles them into the response later.
    if (input.cachedRootKeys?.has(key)) {
      total += CACHED_FIELD_COST;
      continue;
    }
    // Refused before any work (nothing read): free, like a request refused as a whole.
    if (input.refusedRootKeys?.has(key)) continue;
    total += fieldCost(rootType, nodes, input.data[key], false);
  }
  return Math.ceil(total);
}
