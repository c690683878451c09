import { Kind, type GraphQLSchema } from 'graphql';

/**
 * Which root Query fields are cacheable, and for how long: `@cacheControl(maxAge:)` on the
 * field in the SDL, overridden per field by CACHE_TTLS. Read once per schema object.
 */
const bySchema = new WeakMap<GraphQLSchema, Map<string, Map<string, number>>>();

export function cacheTtlsOf(schema: GraphQLSchema, overrides: Readonly<Record<string, number>> = {}): ReadonlyMap<string, number> {
  const overridesId = JSON.stringify(overrides);
  let perOverrides = bySchema.get(schema);
  if (!perOverrides) bySchema.set(schema, (perOverrides = new Map()));
  const known = perOverrides.get(overridesId);
  if (known) return known;
  const ttls = new Map<string, number>();
  const fields = schema.getQueryType()?.getFields() ?? {};
  for (const [name, field] of Object.entries(fields)) {
    const directive = field.astNode?.directives?.find((d) => d.name.value === 'cacheControl');
    const maxAge = directive?.arguments?.find((a) => a.name.value === 'maxAge')?.value;
    let ttl = maxAge?.kind === Kind.INT ? Number(maxAge.value) : 0;
    if (overrides[name] !== undefined) ttl = overrides[name]!;
    if (ttl > 0) ttls.set(name, ttl);
  }
  perOverrides.set(overridesId, ttls);
  return ttls;
}
