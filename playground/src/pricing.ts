import { Kind, parse, print, type DocumentNode, type FieldNode, type OperationDefinitionNode } from 'graphql';

/**
 * Cost before running. The page adds one aliased `rateLimit(dryRun: true)` field to the operation
 * the analyst is about to run and sends it: the gateway prices the whole document with its own
 * rules (variables applied) and runs nothing else, charges nothing. The added field has a price
 * of its own, measured once per sign-in by pricing a document holding only that field, and
 * subtracted, so the figure shown is what the operation will be charged as written.
 * No DOM types: unit tests run it in Node.
 */
export const PRICE_ALIAS = 'playgroundDryRunPrice';
const PRICE_FIELDS = 'requestedQueryCost currentlyAvailable maximumAvailable maxCostPerOperation restoreRate';
export const BASELINE_QUERY = `query PlaygroundPriceBaseline { ${PRICE_ALIAS}: rateLimit(dryRun: true) { ${PRICE_FIELDS} } }`;

const priceField = (parse(`{ ${PRICE_ALIAS}: rateLimit(dryRun: true) { ${PRICE_FIELDS} } }`).definitions[0] as OperationDefinitionNode).selectionSet.selections[0] as FieldNode;

export type PricingRequest =
  | { readonly kind: 'price'; readonly query: string; readonly operationName: string | null }
  | { readonly kind: 'skip'; readonly reason: string };

/** The document to send for a dry run, or why there is nothing to price yet. */
export function pricingRequest(source: string, operationName?: string | null): PricingRequest {
  if (!source.trim()) return { kind: 'skip', reason: 'Type an operation to see its price.' };
  let doc: DocumentNode;
  try {
    doc = parse(source, { noLocation: true });
  } catch (err) {
    return { kind: 'skip', reason: `Not priced: the document does not parse (${(err as Error).message.split('\n')[0]}).` };
  }
  const operations = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!operations.length) return { kind: 'skip', reason: 'Not priced: the document has no operation (only fragments).' };
  const chosen = (operationName ? operations.find((o) => o.name?.value === operationName) : undefined) ?? (operations.length === 1 ? operations[0] : undefined);
  if (!chosen) return { kind: 'skip', reason: 'Several operations: put the cursor in the one to price (or run one).' };
  if (chosen.operation !== 'query') {
    return { kind: 'skip', reason: `A ${chosen.operation} is not priced before it runs (a dry run is a query); its cost shows after running.` };
  }
  const priced: OperationDefinitionNode = { ...chosen, selectionSet: { ...chosen.selectionSet, selections: [priceField, ...chosen.selectionSet.selections] } };
  const definitions = doc.definitions.map((d) => (d === chosen ? priced : d));
  return { kind: 'price', query: print({ ...doc, definitions }), operationName: chosen.name?.value ?? null };
}

export type PriceVerdict =
  | { readonly kind: 'ok'; readonly cost: number; readonly available: number; readonly maximum: number; readonly maxPerOperation: number }
  | {
      readonly kind: 'refused';
      readonly code: string;
      readonly cost?: number;
      readonly available?: number;
      readonly maximum?: number;
      readonly retryAfterSeconds?: number;
      readonly message: string;
    }
  | { readonly kind: 'invalid'; readonly message: string }
  | { readonly kind: 'unauthenticated'; readonly message: string };

interface GraphQLBody {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, any> }[];
}

const REFUSING_CODES = new Set(['COST_LIMIT_EXCEEDED', 'RATE_LIMITED', 'DEPTH_LIMIT_EXCEEDED', 'ALIAS_LIMIT_EXCEEDED', 'TOKEN_LIMIT_EXCEEDED', 'DIRECTIVE_LIMIT_EXCEEDED']);

/** What the dry run says about running the operation now. `baseline`: the price of the added field. */
export function priceVerdict(body: GraphQLBody, baseline: number): PriceVerdict {
  const error = body.errors?.[0];
  const code = error?.extensions?.code as string | undefined;
  if (code === 'UNAUTHENTICATED') return { kind: 'unauthenticated', message: error!.message };
  if (code && REFUSING_CODES.has(code)) {
    const ext = error!.extensions!;
    const cost = typeof ext.cost === 'number' ? Math.max(0, ext.cost - baseline) : undefined;
    if (code === 'COST_LIMIT_EXCEEDED' && cost !== undefined && typeof ext.limit === 'number' && cost <= ext.limit) {
      // Only the added field tipped it over: the operation itself fits the per-operation maximum.
      return { kind: 'ok', cost, available: Number.NaN, maximum: Number.NaN, maxPerOperation: ext.limit };
    }
    const message =
      code === 'COST_LIMIT_EXCEEDED' && cost !== undefined
        ? `Would be refused: it costs ${cost} points and one operation may cost at most ${ext.limit} (COST_LIMIT_EXCEEDED).`
        : `Would be refused before pricing: ${error!.message} (${code}).`;
    return { kind: 'refused', code, cost, message };
  }
  const info = body.data?.[PRICE_ALIAS] as
    | { requestedQueryCost: number; currentlyAvailable: number; maximumAvailable: number; maxCostPerOperation: number; restoreRate: number }
    | undefined;
  if (!info) return { kind: 'invalid', message: error ? `Not priced: ${error.message}` : 'Not priced: the gateway sent no price.' };
  const cost = Math.max(0, info.requestedQueryCost - baseline);
  if (cost > info.maxCostPerOperation) {
    return {
      kind: 'refused',
      code: 'COST_LIMIT_EXCEEDED',
      cost,
      available: info.currentlyAvailable,
      maximum: info.maximumAvailable,
      message: `Would be refused: it costs ${cost} points and one operation may cost at most ${info.maxCostPerOperation} (COST_LIMIT_EXCEEDED).`,
    };
  }
  if (cost > info.currentlyAvailable) {
    const retryAfterSeconds = Math.max(1, Math.ceil((cost - info.currentlyAvailable) / info.restoreRate));
    return {
      kind: 'refused',
      code: 'RATE_LIMITED',
      cost,
      available: info.currentlyAvailable,
      maximum: info.maximumAvailable,
      retryAfterSeconds,
      message: `Would be refused now: it costs ${cost} points and ${info.currentlyAvailable} are left (RATE_LIMITED; enough again in about ${retryAfterSeconds} s).`,
    };
  }
  if (error) return { kind: 'invalid', message: `Priced, but the gateway reports: ${error.message}` };
  return { kind: 'ok', cost, available: info.currentlyAvailable, maximum: info.maximumAvailable, maxPerOperation: info.maxCostPerOperation };
}

/** The added field's own price, from the baseline document's answer. */
export function baselineCost(body: GraphQLBody): number | null {
  const c = body.data?.[PRICE_ALIAS]?.requestedQueryCost;
  return typeof c === 'number' ? c : null;
}
