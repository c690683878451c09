import type http from 'node:http';
import { HeaderMap, type ApolloServer, type HTTPGraphQLResponse } from '@apollo/server';
import type { Authenticator } from '../auth/authenticator';
import { createRequestContext, type AppServices, type RequestContext } from '../context';
import { fromDatabaseError, unauthenticated } from '../shared/errors';
import { requestSpansEnabled } from '../telemetry/http-tracing';
import { withGraphQLSpan } from '../telemetry/graphql-telemetry';
import { checkGraphQLRequest, type CheckedGraphQLRequest, type GraphQLRequestLimits } from './graphql-request';
import type { RouteHandler } from './respond';

export interface GraphQLRouteDeps {
  readonly apollo: ApolloServer<RequestContext>;
  readonly authenticator: Authenticator;
  readonly services: AppServices;
  readonly limits: GraphQLRequestLimits;
}

function headerMapOf(req: http.IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  return headers;
}

/**
 * The request context, built once. The authenticator throws coded SERVICE_UNAVAILABLE (HTTP
 * 200) when the database cannot answer; anything else a database lookup throws here is mapped
 * too: Apollo would answer an uncoded context error with HTTP 500 "Context creation failed".
 */
async function contextFor(deps: GraphQLRouteDeps, req: http.IncomingMessage, requestId: string): Promise<RequestContext> {
  let viewer;
  try {
    viewer = await deps.authenticator.authenticate({
      authorization: req.headers.authorization,
      apiKey: req.headers['x-api-key'] as string | undefined,
    });
  } catch (err) {
    throw fromDatabaseError(err) ?? err;
  }
  if (!viewer) throw unauthenticated();
  return createRequestContext(deps.services, viewer, requestId);
}

async function writeApolloResponse(res: http.ServerResponse, result: HTTPGraphQLResponse, requestId: string): Promise<void> {
  const outHeaders: Record<string, string> = { 'x-request-id': requestId };
  for (const [k, v] of result.headers) outHeaders[k] = v;
  if (result.body.kind === 'complete') {
    res.setHeader('content-length', Buffer.byteLength(result.body.string));
    res.writeHead(result.status ?? 200, outHeaders);
    res.end(result.body.string);
  } else {
    res.writeHead(result.status ?? 200, outHeaders);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

async function executeGraphQL(deps: GraphQLRouteDeps, req: http.IncomingMessage, res: http.ServerResponse, checked: CheckedGraphQLRequest, url: URL, requestId: string) {
  const result = await deps.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: checked.method, headers: headerMapOf(req), search: url.search, body: checked.body },
    context: () => contextFor(deps, req, requestId),
  });
  await writeApolloResponse(res, result, requestId);
}

/** `/graphql`: the boundary checks, then Apollo (inside a GraphQL span when spans are on). */
export function graphqlRoute(deps: GraphQLRouteDeps): RouteHandler {
  return async (req, res, url, requestId) => {
    const checked = await checkGraphQLRequest(req, res, url, deps.limits);
    if (!checked) return;
    if (requestSpansEnabled()) await withGraphQLSpan(() => executeGraphQL(deps, req, res, checked, url, requestId));
    else await executeGraphQL(deps, req, res, checked, url, requestId);
  };
}
