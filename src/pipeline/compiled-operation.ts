import { getVariableValues, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { collectFields } from 'graphql/execution/collectFields';
import type { Viewer } from '../auth/viewer';
import { scopeKeyOf, stableStringify } from '../cache/cache-key';
import { documentForMisses, planResolvedOperation, type OperationPlan } from '../cache/operation-plan';
import { AppError } from '../shared/errors';
import { documentVerdict, type DocumentLimits } from '../limits/document-limits';
import { fragmentsOf, priceOperation, type OperationPrice } from '../limits/pricing';
import type { CostRules } from '../limits/cost-rules';

/**
 * Everything about an operation that does not depend on the data, compiled once per
 * (document hash, operation name, coerced variables, viewer cache scope) and reused: the
 * document-limit verdict, the price, the root fields, the cache plan with its keys and shapes,
 * the HTTP max-age and the narrowed documents for partial hits. A repeated dashboard query
 * does no GraphQL walking.
 *
 * No part depends on the clock: relative ranges are priced as if they ended at a fixed instant
 * (PRICING_RANGE_END) and cached under the range as written (`last: "24h"`; the entry's TTL
 * bounds its age). A compiled part that came to depend on "now" would have to add the
 * quantised clock to the key (compileKeyOf) — the resolvers quantise relative ranges to 10 s.
 */
export interface RootField {
  readonly responseKey: string;
  readonly fieldName: string;
  readonly nodes: readonly FieldNode[];
}

export interface CompiledOperation {
  readonly key: string;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly fragments: Record<string, FragmentDefinitionNode>;
  /** Coerced variable values (defaults applied). */
  readonly variables: Record<string, unknown>;
  readonly rootFields: readonly RootField[];
  /** Document limits: the refusal, or null. Absent when limits are off. */
  readonly verdict: AppError | null;
  /** The price, or the coded refusal pricing produced. Absent when limits are off or refused by the verdict. */
  readonly pricing?: { readonly price: OperationPrice } | { readonly error: AppError };
  /** Root fields and their cache keys (queries only, cache on). */
  readonly cachePlan: OperationPlan | null;
  /** Smallest TTL of the root fields when every one is cacheable, else 0 (HTTP Cache-Control). */
  readonly maxAge: number;
  /** The document that runs only `toExecute` (memoised per set of response keys). */
  documentFor(toExecute: ReadonlySet<string>): DocumentNode;
}

export interface CompileOptions {
  readonly limits?: { readonly rules: CostRules; readonly documentLimits: DocumentLimits };
  /** TTLs per root field (also for Cache-Control when the server-side cache is off). */
  readonly ttls: ReadonlyMap<string, number>;
  /** Set when the per-field cache is on. */
  readonly cache?: { readonly keyPrefix: string };
}

export interface CompileRequest {
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly queryHash: string;
  readonly operationName: string | null | undefined;
  readonly rawVariables: Record<string, unknown> | null | undefined;
  readonly viewer: Viewer;
}

/** What of the viewer a compiled operation depends on: its cache keys carry org, role and project scope. */
export const cacheScopeOf = (viewer: Viewer): string => `${viewer.orgId}\u0000${viewer.role}\u0000${scopeKeyOf(viewer.projectIds)}`;

/** A bounded LRU of compiled operations (one per gateway instance). */
export class CompiledOperations {
  private readonly entries = new Map<string, CompiledOperation>();
  /** Viewers are memoised by the authenticator for a while: their scope text with them. */
  private readonly scopes = new WeakMap<Viewer, string>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly options: CompileOptions,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * The compiled operation for this request; null when its variables do not coerce (execution
   * refuses them with its own error, nothing to compile). Coerced variables are the ones keyed
   * on: raw variables are never walked here beyond graphql-js's own coercion.
   */
  get(req: CompileRequest): CompiledOperation | null {
    const coerced = getVariableValues(req.schema, req.operation.variableDefinitions ?? [], req.rawVariables ?? {});
    if (coerced.errors) return null;
    let scope = this.scopes.get(req.viewer);
    if (scope === undefined) this.scopes.set(req.viewer, (scope = cacheScopeOf(req.viewer)));
    const key = `${req.queryHash}\u0000${req.operationName ?? ''}\u0000${stableStringify(coerced.coerced)}\u0000${scope}`;
    const known = this.entries.get(key);
    if (known) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, known);
      return known;
    }
    this.misses++;
    const compiled = compileOperation(req, key, coerced.coerced, this.options);
    if (this.maxEntries > 0) {
      this.entries.set(key, compiled);
      for (const [oldest] of this.entries) {
        if (this.entries.size <= this.maxEntries) break;
        this.entries.delete(oldest);
      }
    }
    return compiled;
  }
}

export function compileOperation(req: CompileRequest, key: string, variables: Record<string, unknown>, options: CompileOptions): CompiledOperation {
  const { schema, document, operation } = req;
  const fragments = fragmentsOf(document);
  const rootType = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  const rootFields: RootField[] = [];
  if (rootType) {
    for (const [responseKey, nodes] of collectFields(schema, fragments, variables, rootType, operation.selectionSet)) {
      rootFields.push({ responseKey, fieldName: nodes[0]!.name.value, nodes });
    }
  }
  const verdict = options.limits ? documentVerdict(document, undefined, options.limits.documentLimits) : null;
  let pricing: CompiledOperation['pricing'];
  if (options.limits && !verdict) {
    try {
      pricing = { price: priceOperation(options.limits.rules, { document, operationName: req.operationName, variables: req.rawVariables }) };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      pricing = { error: err };
    }
  }
  const cachePlan = options.cache
    ? planResolvedOperation(schema, document, operation, fragments, variables, { viewer: req.viewer, ttls: options.ttls, keyPrefix: options.cache.keyPrefix })
    : null;
  let maxAge = operation.operation === 'query' && rootFields.length ? Infinity : 0;
  for (const f of rootFields) maxAge = Math.min(maxAge, options.ttls.get(f.fieldName) ?? 0);
  const narrowed = new Map<string, DocumentNode>();
  return {
    key,
    document,
    operation,
    fragments,
    variables,
    rootFields,
    verdict,
    pricing,
    cachePlan,
    maxAge: Number.isFinite(maxAge) ? maxAge : 0,
    documentFor(toExecute) {
      if (!cachePlan) return document;
      const id = [...toExecute].join('\u0000');
      let doc = narrowed.get(id);
      if (!doc) {
        doc = documentForMisses(cachePlan, toExecute);
        // At most a root field's worth of subsets in practice; bounded regardless.
        if (narrowed.size < 32) narrowed.set(id, doc);
      }
      return doc;
    },
  };
}
