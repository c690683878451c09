import { useEffect, useRef, useState } from 'react';
import { postGraphQL } from './gateway-client';
import { BASELINE_QUERY, baselineCost, priceVerdict, pricingRequest, type PriceVerdict } from './pricing';

export type PriceState = { readonly kind: 'idle'; readonly reason: string } | { readonly kind: 'pricing' } | PriceVerdict;

export const PRICE_DEBOUNCE_MS = 400;

/**
 * Prices the operation being edited, debounced: a dry run per pause in typing, the previous one
 * aborted. `revision` changes after each run (the budget moved) to price again.
 */
export function usePrice(apiKey: string | null, query: string, variables: string, operationName: string | null, revision: number): PriceState {
  const [state, setState] = useState<PriceState>({ kind: 'idle', reason: 'Type an operation to see its price.' });
  const baseline = useRef<{ key: string; cost: number } | null>(null);

  useEffect(() => {
    if (!apiKey) return;
    const request = pricingRequest(query, operationName);
    if (request.kind === 'skip') {
      setState({ kind: 'idle', reason: request.reason });
      return;
    }
    let vars: unknown;
    if (variables.trim()) {
      try {
        vars = JSON.parse(variables);
      } catch {
        setState({ kind: 'invalid', message: 'Not priced: the variables are not valid JSON.' });
        return;
      }
    }
    const abort = new AbortController();
    const timer = setTimeout(async () => {
      setState({ kind: 'pricing' });
      try {
        if (!baseline.current || baseline.current.key !== apiKey) {
          const b = await postGraphQL(apiKey, { query: BASELINE_QUERY, operationName: 'PlaygroundPriceBaseline' }, {}, abort.signal);
          const cost = baselineCost(b.body);
          if (cost === null) {
            setState(priceVerdict(b.body, 0));
            return;
          }
          baseline.current = { key: apiKey, cost };
        }
        const r = await postGraphQL(apiKey, { query: request.query, operationName: request.operationName, variables: vars }, {}, abort.signal);
        setState(priceVerdict(r.body, baseline.current.cost));
      } catch (err) {
        if (!abort.signal.aborted) setState({ kind: 'invalid', message: `Not priced: ${(err as Error).message}` });
      }
    }, PRICE_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [apiKey, query, variables, operationName, revision]);

  return state;
}
