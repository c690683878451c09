import { Kind, Lexer, Source, TokenKind, visit, type DocumentNode, type FragmentDefinitionNode, type GraphQLError, type SelectionSetNode } from 'graphql';
import { AppError, ErrorCode } from '../shared/errors';

export interface DocumentLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
  readonly maxDirectives: number;
}

export const documentLimitsFrom = (l: { maxDepth: number; maxAliases: number; maxTokens: number; maxDirectives: number }): DocumentLimits => ({
  maxDepth: l.maxDepth,
  maxAliases: l.maxAliases,
  maxTokens: l.maxTokens,
  maxDirectives: l.maxDirectives,
});

const refuse = (code: ErrorCode, what: string, limit: number, actual: number) =>
  new AppError(code, `The document has ${actual > limit ? `more than ${limit}` : actual} ${what}; at most ${limit} are allowed`, { limit, actual });

/** Lexes at most max + 1 tokens: the count stops as soon as the limit is passed. */
export function countTokens(text: string, max: number): number {
  const lexer = new Lexer(new Source(text));
  let n = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      if (++n > max) break;
    }
  } catch {
    // A syntax error: the parser reports it with its position.
  }
  return n;
}

/**
 * The document's verdict against every limit: null, or the refusal to answer with. The
 * pipeline computes it once per compiled operation (src/pipeline/compiled-operation.ts).
 */
export function documentVerdict(document: DocumentNode, source: string | undefined, limits: DocumentLimits): AppError | null {
  try {
    if (source !== undefined) checkTokenLimit(source, limits);
    checkDocumentLimits(document, limits);
    return null;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return err;
  }
}

export function checkTokenLimit(text: string, limits: DocumentLimits): void {
  const n = countTokens(text, limits.maxTokens);
  if (n > limits.maxTokens) throw refuse(ErrorCode.TOKEN_LIMIT_EXCEEDED, 'tokens', limits.maxTokens, n);
}

/**
 * Depth, alias and directive limits over the whole document, before pricing and before
 * validation (so fragment cycles and unknown fragments must not hang or throw here). Fragments
 * are measured once each (memoised), so fragment bombs cost linear time to reject.
 */
export function checkDocumentLimits(document: DocumentNode, limits: DocumentLimits): void {
  let directives = 0;
  visit(document, {
    Directive() {
      directives++;
    },
  });
  if (directives > limits.maxDirectives) throw refuse(ErrorCode.DIRECTIVE_LIMIT_EXCEEDED, 'directives', limits.maxDirectives, directives);

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

  const depthMemo = new Map<string, number>();
  const aliasMemo = new Map<string, number>();
  const cap = limits.maxAliases + 1;
  const measure = (set: SelectionSetNode, active: Set<string>): { depth: number; aliases: number } => {
    let depth = 0;
    let aliases = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (s.alias) aliases++;
        const inner = s.selectionSet ? measure(s.selectionSet, active) : { depth: 0, aliases: 0 };
        depth = Math.max(depth, 1 + inner.depth);
        aliases += inner.aliases;
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        const inner = measure(s.selectionSet, active);
        depth = Math.max(depth, inner.depth);
        aliases += inner.aliases;
      } else {
        const name = s.name.value;
        const frag = fragments.get(name);
        if (!frag || active.has(name)) continue;
        if (!depthMemo.has(name)) {
          active.add(name);
          const inner = measure(frag.selectionSet, active);
          active.delete(name);
          depthMemo.set(name, inner.depth);
          aliasMemo.set(name, inner.aliases);
        }
        depth = Math.max(depth, depthMemo.get(name)!);
        aliases += aliasMemo.get(name)!;
      }
      if (aliases > cap) aliases = cap;
    }
    return { depth, aliases };
  };

  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    const { depth, aliases } = measure(d.selectionSet, new Set());
    if (depth > limits.maxDepth) throw refuse(ErrorCode.DEPTH_LIMIT_EXCEEDED, 'levels of nesting', limits.maxDepth, depth);
    if (aliases > limits.maxAliases) throw refuse(ErrorCode.ALIAS_LIMIT_EXCEEDED, 'aliases', limits.maxAliases, aliases);
  }
}

/** What to give Apollo's parser (`parseOptions`): it stops lexing past the token limit. */
export const parseOptionsFor = (limits: DocumentLimits) => ({ maxTokens: limits.maxTokens });

const TOKEN_ABORT = /Document contains more tha[nt] (\d+) tokens/;

/**
 * The parser stops past the token limit (parseOptionsFor) before any validation work; its
 * parse error is re-coded TOKEN_LIMIT_EXCEEDED (HTTP 400) in place, before Apollo formats it.
 */
export function recodeTokenLimitErrors(errors: GraphQLError[], limits: DocumentLimits): void {
  errors.forEach((e, i) => {
    if (e.extensions?.code === 'GRAPHQL_PARSE_FAILED' && TOKEN_ABORT.test(e.message)) {
      errors[i] = new AppError(ErrorCode.TOKEN_LIMIT_EXCEEDED, `The document has more than ${limits.maxTokens} tokens; at most ${limits.maxTokens} are allowed`, {
        limit: limits.maxTokens,
      });
    }
  });
}
