/**
 * Comparison (a) of `npm run bench:load`: a stock Apollo Server 5 (startStandaloneServer, no
 * plugins, no auth, no database, no cache) executing the gateway's SDL over answers held in
 * memory. Every root field returns the recorded answer for (operation text, variables) and the
 * default resolvers walk it, so graphql-js executes and serialises exactly the response shapes
 * the gateway sends.
 *
 *   node --import tsx bench/support/stock-apollo.ts <fixtures.json>   (prints "listening <url>")
 *
 * fixtures.json: [{ "query": "...", "variables": {...}, "data": {...} }]
 */
import fs from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { print, type GraphQLFieldResolver, type OperationDefinitionNode } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { loadTypeDefs } from '../../src/schema';
import { stableStringify } from '../../src/cache/cache-key';

interface Fixture {
  query: string;
  variables?: Record<string, unknown>;
  data: Record<string, unknown>;
}

async function main() {
  const fixtures = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as Fixture[];
  const typeDefs = loadTypeDefs();
  // Keyed by the printed operation, as graphql-js hands it to resolvers (info.operation).
  const byOperation = new Map<string, Record<string, unknown>>();
  const probe = makeExecutableSchema({ typeDefs });
  const { parse, getOperationAST } = await import('graphql');
  for (const f of fixtures) {
    const op = getOperationAST(parse(f.query));
    byOperation.set(`${print(op!)}\n${stableStringify(f.variables ?? {})}`, f.data);
  }
  const printed = new WeakMap<OperationDefinitionNode, string>();
  const fromMemory: GraphQLFieldResolver<unknown, unknown> = (_p, _a, _c, info) => {
    let text = printed.get(info.operation);
    if (text === undefined) printed.set(info.operation, (text = print(info.operation)));
    const data = byOperation.get(`${text}\n${stableStringify(info.variableValues)}`);
    return data?.[info.path.key as string] ?? null;
  };
  const queryFields = Object.keys(probe.getQueryType()!.getFields());
  const server = new ApolloServer({
    typeDefs,
    resolvers: { Query: Object.fromEntries(queryFields.map((f) => [f, fromMemory])) },
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  process.stdout.write(`listening ${url}\n`);
  process.on('SIGTERM', () => {
    server.stop().finally(() => process.exit(0));
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
