import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { dateTimes, FORGED_CURSORS, HOSTILE_FLOATS, HOSTILE_INTS, HOSTILE_STRINGS, type ValuePools } from './hostile-values';

/**
 * Operations generated from the schema itself: any root field (queries and mutations), with
 * arguments of the declared types filled from real ids, other orgs' ids and hostile values,
 * sometimes as variables and sometimes as literals, and selections walked down to leaves.
 */
export interface FuzzOperation {
  readonly query: string;
  readonly variables: Record<string, unknown>;
  readonly operationName?: string;
}

/** A GraphQL literal for a JSON-ish value (strings keep their escapes, NUL included). */
function literal(v: unknown, type: GraphQLInputType): string {
  if (v === null || v === undefined) return 'null';
  if (isNonNullType(type)) return literal(v, type.ofType);
  if (isListType(type)) return Array.isArray(v) ? `[${v.map((x) => literal(x, type.ofType)).join(', ')}]` : literal(v, type.ofType);
  if (isEnumType(type) && typeof v === 'string' && /^[_A-Za-z][_0-9A-Za-z]*$/.test(v)) return v;
  if (isInputObjectType(type) && typeof v === 'object') {
    const fields = type.getFields();
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([k]) => fields[k])
      .map(([k, x]) => `${k}: ${literal(x, fields[k]!.type)}`)
      .join(', ')}}`;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '0';
  if (typeof v === 'boolean') return String(v);
  // A lone surrogate cannot be written in a GraphQL literal; variables still carry them.
  return JSON.stringify((String(v) as string & { toWellFormed(): string }).toWellFormed());
}

export function operationArbitrary(schema: GraphQLSchema, pools: ValuePools, now: number): fc.Arbitrary<FuzzOperation> {
  const ids = [...pools.own.traceIds, ...pools.own.projectIds, ...pools.own.sessionIds, ...pools.foreign.traceIds, ...pools.foreign.projectIds, ...pools.foreign.sessionIds, ...pools.foreign.orgIds];
  const strings = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_STRINGS, ...pools.own.projectIds, ...pools.foreign.projectIds, ...pools.own.sessionIds) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  );
  const scalar = (name: string): fc.Arbitrary<unknown> => {
    switch (name) {
      case 'Int':
        return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HOSTILE_INTS) }, { weight: 1, arbitrary: fc.integer() });
      case 'Float':
        return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HOSTILE_FLOATS) }, { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) });
      case 'Boolean':
        return fc.boolean();
      case 'ID':
        return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ids) }, { weight: 2, arbitrary: fc.uuid() }, { weight: 2, arbitrary: strings });
      case 'DateTime':
        return fc.constantFrom(...dateTimes(now));
      case 'Cursor':
        return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pools.own.cursors) }, { weight: 3, arbitrary: fc.constantFrom(...FORGED_CURSORS) }, { weight: 1, arbitrary: strings });
      case 'JSON':
        return fc.jsonValue({ maxDepth: 3 });
      default:
        return strings;
    }
  };

  const inputCache = new Map<string, fc.Arbitrary<unknown>>();
  function inputValue(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
    if (isNonNullType(type)) return fc.oneof({ weight: 30, arbitrary: inputValue(type.ofType, depth) }, { weight: 1, arbitrary: fc.constant(null) });
    if (isListType(type)) {
      const item = inputValue(type.ofType, depth + 1);
      return fc.oneof(
        { weight: 8, arbitrary: fc.array(item, { maxLength: 3 }) },
        { weight: 1, arbitrary: fc.array(item, { minLength: 101, maxLength: 102 }) },
        { weight: 1, arbitrary: item }, // a single value where a list is expected (coerced)
      );
    }
    const named = getNamedType(type);
    if (isEnumType(named)) return fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...named.getValues().map((v) => v.name)) }, { weight: 1, arbitrary: fc.constant('NOT_A_VALUE') });
    if (isScalarType(named)) return scalar(named.name);
    if (isInputObjectType(named)) {
      const key = `${named.name}:${Math.min(depth, 2)}`;
      let arb = inputCache.get(key);
      if (!arb) {
        const fields = Object.values(named.getFields());
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const f of fields) record[f.name] = depth > 2 ? fc.constant(null) : inputValue(f.type, depth + 1);
        arb = fc.record(record, { requiredKeys: fields.filter((f) => isNonNullType(f.type)).map((f) => f.name) });
        inputCache.set(key, arb);
      }
      return arb;
    }
    return fc.constant(null);
  }

  type Call = { field: string; args: { arg: GraphQLArgument; value: unknown }[]; selection: string };

  const argsArb = (f: GraphQLField<unknown, unknown>) =>
    fc.tuple(...f.args.map((a) => fc.option(inputValue(a.type), { freq: isNonNullType(a.type) ? 20 : 2, nil: undefined }))).map((values) =>
      f.args.map((arg, i) => ({ arg, value: values[i] })).filter((x) => x.value !== undefined),
    );

  const selectionCache = new Map<string, fc.Arbitrary<string[]>>();
  /** Selections of an object type: a few leaves, sometimes one or two nested fields. */
  function selectionOf(type: GraphQLObjectType, depth: number): fc.Arbitrary<string[]> {
    const key = `${type.name}:${depth}`;
    const known = selectionCache.get(key);
    if (known) return known;
    const fields = Object.values(type.getFields());
    const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type) || a.defaultValue !== undefined));
    const nested = depth < 3 ? fields.filter((f) => isObjectType(getNamedType(f.type))) : [];
    const leafArb = leaves.length ? fc.subarray(leaves.map((f) => f.name), { minLength: 0, maxLength: Math.min(4, leaves.length) }) : fc.constant<string[]>([]);
    const nestedArb = nested.length
      ? fc
          .array(
            fc.constantFrom(...nested).chain((f) => callArb(f, depth + 1)),
            { maxLength: 2 },
          )
          // Aliased: the same field twice with different arguments would not validate.
          .map((calls) => calls.map((c, i) => printCall(c, 'inline', `n${depth}_${i}`)))
      : fc.constant<string[]>([]);
    const arb = fc.tuple(leafArb, nestedArb).map(([l, n]) => ['__typename', ...l, ...n]);
    selectionCache.set(key, arb);
    return arb;
  }

  function callArb(f: GraphQLField<unknown, unknown>, depth: number): fc.Arbitrary<Call> {
    const named = getNamedType(f.type);
    let selection: fc.Arbitrary<string> = fc.constant('');
    if (isObjectType(named)) selection = selectionOf(named, depth).map((s) => ` { ${s.join(' ')} }`);
    else if (isInterfaceType(named) || isUnionType(named)) selection = fc.constant(' { __typename }');
    return fc.tuple(argsArb(f), selection).map(([args, sel]) => ({ field: f.name, args, selection: sel }));
  }

  let counter = 0;
  function printCall(c: Call, mode: 'inline' | { vars: Record<string, unknown>; defs: string[] }, alias?: string): string {
    const args = c.args.map(({ arg, value }) => {
      if (mode === 'inline') return `${arg.name}: ${literal(value, arg.type)}`;
      const name = `v${counter++}`;
      mode.defs.push(`$${name}: ${String(arg.type)}`);
      mode.vars[name] = value;
      return `${arg.name}: $${name}`;
    });
    return `${alias ? `${alias}: ` : ''}${c.field}${args.length ? `(${args.join(', ')})` : ''}${c.selection}`;
  }

  const rootArb = (root: GraphQLObjectType | null | undefined, kind: 'query' | 'mutation') => {
    const fields = root ? Object.values(root.getFields()) : [];
    // Revoking keys could lock the fuzzer out of its own org; it is tried with made-up ids only.
    return fc
      .tuple(fc.array(fc.constantFrom(...fields).chain((f) => callArb(f, 1)), { minLength: 1, maxLength: 3 }), fc.boolean(), fc.boolean())
      .map(([calls, asVariables, named]) => {
        counter = 0;
        const ctx = { vars: {} as Record<string, unknown>, defs: [] as string[] };
        const body = calls.map((c, i) => printCall(c, asVariables ? ctx : 'inline', `f${i}`)).join(' ');
        const name = named ? 'Fuzz' : '';
        const head = ctx.defs.length || name ? `${kind} ${name}${ctx.defs.length ? `(${ctx.defs.join(', ')})` : ''} ` : kind === 'query' ? '' : 'mutation ';
        return { query: `${head}{ ${body} }`, variables: ctx.vars, operationName: named ? 'Fuzz' : undefined };
      });
  };

  return fc.oneof({ weight: 9, arbitrary: rootArb(schema.getQueryType(), 'query') }, { weight: 1, arbitrary: rootArb(schema.getMutationType(), 'mutation') });
}
