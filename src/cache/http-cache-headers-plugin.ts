import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import { collectFields } from 'graphql/execution/collectFields';
import { Kind, getVariableValues, type FragmentDefinitionNode } from 'graphql';
import type { RequestContext } from '../context';
import { cacheTtlsOf } from './cache-policy';

/**
 * HTTP caching headers for /graphql responses.
 *
 * GET queries whose every root field is cacheable and that answered without errors get
 * `Cache-Control: private, max-age=<smallest TTL among their fields>`; everything else (POST,
 * mutations, uncacheable fields, errors) gets `no-store`. Always `private` and `Vary:
 * Authorization, X-Api-Key`: every answer is per tenant, and a shared cache (CDN, nginx)
 * keying on the URL alone would hand one org's data to another. A browser or a per-user proxy
 * may reuse it.
 */
export function httpCacheHeadersPlugin(opts: { ttlOverrides: Readonly<Record<string, number>> }): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse(rc) {
          const headers = rc.response.http.headers;
          headers.set('vary', 'Authorization, X-Api-Key');
          const body = rc.response.body;
          const ok = body?.kind === 'single' && !body.singleResult.errors?.length;
          const maxAge =
            ok && rc.request.http?.method === 'GET' && rc.operation?.operation === 'query' && rc.document
              ? smallestTtl(rc.schema, rc.document.definitions, rc.operation.selectionSet, rc.request.variables ?? {}, rc.operation.variableDefinitions ?? [], opts.ttlOverrides)
              : 0;
          headers.set('cache-control', maxAge > 0 ? `private, max-age=${maxAge}` : 'no-store');
        },
      };
    },
  };
}

function smallestTtl(
  schema: GraphQLSchema,
  definitions: readonly { kind: Kind }[],
  selectionSet: Parameters<typeof collectFields>[4],
  rawVariables: Record<string, unknown>,
  variableDefinitions: Parameters<typeof getVariableValues>[1],
  overrides: Readonly<Record<string, number>>,
): number {
  const queryType = schema.getQueryType();
  const coerced = getVariableValues(schema, variableDefinitions, rawVariables);
  if (!queryType || coerced.errors) return 0;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[(d as FragmentDefinitionNode).name.value] = d as FragmentDefinitionNode;
  const ttls = cacheTtlsOf(schema, overrides);
  let min = Infinity;
  for (const nodes of collectFields(schema, fragments, coerced.coerced, queryType, selectionSet).values()) {
    const ttl = ttls.get(nodes[0]!.name.value) ?? 0;
    if (ttl <= 0) return 0;
    min = Math.min(min, ttl);
  }
  return Number.isFinite(min) ? min : 0;
}
