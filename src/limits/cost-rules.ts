import { badInput } from '../shared/errors';
import { MAX_PAGE_SIZE } from '../shared/page-size';
import { getDirective } from '@graphql-tools/utils';
import { getNamedType, isCompositeType, isListType, isNonNullType, type GraphQLField, type GraphQLSchema, type GraphQLType } from 'graphql';
import type { CostEstimatorRegistry } from './cost-estimators';

/**
 * The cost of one field, from the SDL (IBM cost directives): `@cost(weight:)` on the field, else
 * on its type, else 1 for objects and 0 for scalars/enums; `@cost` on an argument adds its weight
 * when the argument is given. `@listSize` multiplies a list by its slicing argument (the largest
 * given) or assumedSize; with `sizedFields` the multiplier applies to those child lists instead
 * (connections). Lists without @listSize count one item: their size is bounded by the work the
 * analytics field that produced them is already charged for.
 */
export interface ListSize {
  readonly assumedSize: number | null;
  readonly slicingArguments: readonly string[];
  readonly sizedFields: readonly string[];
}

/** Introspection is answered from memory; depth limits bound its shape, so a flat price. */
export const INTROSPECTION_COST = 10;
/** A root field answered from the per-field cache costs this instead of its full price. */
export const CACHED_FIELD_COST = 1;

type AnyField = GraphQLField<unknown, unknown>;

export class CostRules {
  private readonly weights = new WeakMap<AnyField, number>();
  private readonly listSizes = new WeakMap<AnyField, ListSize | null>();

  constructor(
    readonly schema: GraphQLSchema,
    readonly estimators: CostEstimatorRegistry,
  ) {}

  weightOf(field: AnyField): number {
    let w = this.weights.get(field);
    if (w === undefined) {
      const own = getDirective(this.schema, field, 'cost')?.[0]?.weight;
      const named = getNamedType(field.type);
      const ofType = 'astNode' in named && named.astNode ? getDirective(this.schema, named, 'cost')?.[0]?.weight : undefined;
      const parsed = Number(own ?? ofType);
      w = Number.isFinite(parsed) ? parsed : isCompositeType(named) ? 1 : 0;
      this.weights.set(field, w);
    }
    return w;
  }

  argumentsWeight(field: AnyField, args: Record<string, unknown>): number {
    let sum = 0;
    for (const arg of field.args) {
      if (args[arg.name] == null || !arg.astNode?.directives?.length) continue;
      const w = Number(getDirective(this.schema, arg, 'cost')?.[0]?.weight);
      if (Number.isFinite(w)) sum += w;
    }
    return sum;
  }

  listSizeOf(field: AnyField): ListSize | null {
    let ls = this.listSizes.get(field);
    if (ls === undefined) {
      const d = getDirective(this.schema, field, 'listSize')?.[0];
      ls = d
        ? { assumedSize: typeof d.assumedSize === 'number' ? d.assumedSize : null, slicingArguments: d.slicingArguments ?? [], sizedFields: d.sizedFields ?? [] }
        : null;
      this.listSizes.set(field, ls);
    }
    return ls;
  }

  /** Items a @listSize field is expected to return for these arguments. */
  expectedSize(ls: ListSize, args: Record<string, unknown>): number {
    // Named: with first and last both slicing arguments, the error names the one given.
    const sliced = ls.slicingArguments
      .map((name) => ({ name, v: args[name] }))
      .filter((a): a is { name: string; v: number } => typeof a.v === 'number' && Number.isFinite(a.v));
    // An out-of-range page size is bad input, not an expensive request: say so before pricing it.
    for (const { name, v } of sliced) {
      if (v < 1 || v > MAX_PAGE_SIZE) throw badInput(`${name} must be between 1 and ${MAX_PAGE_SIZE}`, { argument: name, max: MAX_PAGE_SIZE });
    }
    if (sliced.length) return Math.max(0, ...sliced.map((a) => a.v));
    return ls.assumedSize ?? 1;
  }

  /** The work part of a field's price, from the estimator its module registered (0 for other fields). */
  fieldWork(typeName: string, fieldName: string, args: Record<string, unknown>): number {
    return this.estimators.lookup(typeName, fieldName)?.(args) ?? 0;
  }
}

export const isListField = (t: GraphQLType): boolean => isListType(isNonNullType(t) ? t.ofType : t);
