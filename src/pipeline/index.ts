import type { ApolloServerPlugin } from '@apollo/server';
import type { AppServices, RequestContext } from '../context';
import { createCostEstimators } from '../cost-estimators';
import { createGatewayLimits } from '../limits';
import { stringifyResponse } from '../cache/response-text';
import type { Safelist } from '../persisted-queries/safelist';
import { requestPipelinePlugin } from './pipeline-plugin';

export interface RequestPipeline {
  /** The one plugin that runs document limits, pricing, budgets and the per-field cache. */
  readonly plugin: ApolloServerPlugin<RequestContext>;
  /** Apollo's stringifyResult: cached fields leave as their stored text. */
  readonly stringifyResult: typeof stringifyResponse;
  /** Apollo's parseOptions (the token limit), when limits are on. */
  readonly parseOptions?: { maxTokens: number };
  /** Where budgets are kept right now (readiness detail). */
  limitsMode(): 'redis' | 'memory' | 'disabled';
}

export function createRequestPipeline(services: AppServices, opts: { safelist?: Safelist } = {}): RequestPipeline {
  const limits = createGatewayLimits(services, createCostEstimators(services.config));
  const cache = services.cache?.options.enabled ? services.cache : undefined;
  return {
    plugin: requestPipelinePlugin({
      config: services.config,
      cache,
      limits,
      safelist: opts.safelist,
      metrics: services.config.telemetry.metrics.enabled,
      logger: services.logger,
    }),
    stringifyResult: stringifyResponse,
    parseOptions: limits?.parseOptions,
    limitsMode: () => (limits ? limits.store.mode() : 'disabled'),
  };
}

export type { OperationRecord } from './operation-record';
