import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { AppServices } from '../context';
import { FailoverBudgetStore, type BudgetStore } from './budget-store';
import type { CostEstimatorRegistry } from './cost-estimators';
import { CostRules } from './cost-rules';
import { documentLimitsFrom, parseOptionsFor, type DocumentLimits } from './document-limits';
import type { RateLimitHeaderFormat } from './rate-limit-headers';
import { RefundQueue } from './refund-queue';

/** How long refunds wait to be sent together (see refund-queue.ts). */
const REFUND_COALESCE_MS = 10;

/**
 * Document limits, pricing and budgets: what the request pipeline (src/pipeline) needs to run
 * their stages. Absent (RATE_LIMIT_ENABLED=false): none of them run.
 */
export interface GatewayLimits {
  readonly documentLimits: DocumentLimits;
  /** Apollo's parseOptions: the parser stops past the token limit. */
  readonly parseOptions: { maxTokens: number };
  readonly store: BudgetStore;
  readonly refunds: RefundQueue;
  readonly headerFormat: RateLimitHeaderFormat;
  rulesFor(schema: GraphQLSchema): CostRules;
}

/** estimators: every module's field cost estimators (src/cost-estimators.ts). */
export function createGatewayLimits(services: AppServices, estimators: CostEstimatorRegistry): GatewayLimits | undefined {
  const { config, logger } = services;
  if (!config.limits.enabled) return undefined;
  const store = new FailoverBudgetStore(services.redis, {
    onFallback: (err) => logger.debug({ err }, 'rate limit: redis failed, using per-instance memory'),
  });
  return gatewayLimitsOver(config, store, estimators, logger);
}

/** The limits over a given budget store (tests pass a memory store with their own clock). */
export function gatewayLimitsOver(config: Pick<Config, 'limits'>, store: BudgetStore, estimators: CostEstimatorRegistry, logger?: Logger): GatewayLimits {
  const documentLimits = documentLimitsFrom(config.limits);
  const rules = new WeakMap<GraphQLSchema, CostRules>();
  return {
    documentLimits,
    parseOptions: parseOptionsFor(documentLimits),
    store,
    refunds: new RefundQueue(store, { delayMs: REFUND_COALESCE_MS, logger }),
    headerFormat: config.limits.headerFormat,
    rulesFor(schema) {
      let r = rules.get(schema);
      if (!r) rules.set(schema, (r = new CostRules(schema, estimators)));
      return r;
    },
  };
}
