import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { AppError, ErrorCode } from '../shared/errors';
import { documentVerdict, type DocumentLimits } from './document-limits';

/** What to give Apollo's parser (`parseOptions`): it stops lexing past the token limit. */
export const parseOptionsFor = (limits: DocumentLimits) => ({ maxTokens: limits.maxTokens });

const TOKEN_ABORT = /Document contains more tha[nt] (\d+) tokens/;

/**
 * Stops abusive documents before they are priced, each refusal with its own code and the limit
 * in `extensions` (HTTP 400):
 * - tokens: the parser itself stops past the limit (parseOptionsFor), before any validation
 *   work; its parse error is re-coded TOKEN_LIMIT_EXCEEDED here;
 * - depth, aliases, directives: in didResolveOperation. The verdict is memoised per document
 *   and the rate-limit plugin consults the same verdict, so a refused document is never priced
 *   or charged even though Apollo runs both hooks concurrently.
 */
export function documentLimitsPlugin(limits: DocumentLimits): ApolloServerPlugin<any> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(rc) {
          const refused = documentVerdict(rc.document, undefined, limits);
          if (refused) throw refused;
        },
        async didEncounterErrors(rc) {
          // Apollo formats this same array after the hook: swap the parser's abort for our code.
          const errors = rc.errors as GraphQLError[];
          errors.forEach((e, i) => {
            if (e.extensions?.code === 'GRAPHQL_PARSE_FAILED' && TOKEN_ABORT.test(e.message)) {
              errors[i] = new AppError(ErrorCode.TOKEN_LIMIT_EXCEEDED, `The document has more than ${limits.maxTokens} tokens; at most ${limits.maxTokens} are allowed`, {
                limit: limits.maxTokens,
              });
            }
          });
        },
      };
    },
  };
}
