import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestContext, type GraphQLResponse } from '@apollo/server';
import type { DocumentNode, FormattedExecutionResult } from 'graphql';
import type { RequestContext } from '../context';
import { cacheBypassTotal } from './cache-metrics';
import type { FieldCache } from './field-cache';
import type { StoredField } from './field-store';
import { documentForMisses, planOperation, project, type OperationPlan, type RootFieldPlan } from './operation-plan';
import type { Fill } from './single-flight';

/**
 * The per-field cache as an Apollo plugin.
 *
 * responseForOperation: plan the operation's root fields, look the cacheable ones up (waiting
 * for fills in progress), and either answer entirely from the cache or narrow the document to
 * the fields still to run (cacheable misses in their canonical shape). Apollo then executes
 * that document itself, so error formatting and masking, didEncounterErrors and the other
 * plugins' execution hooks behave as for any request. willSendResponse stores each executed
 * cacheable field that produced no error and puts hits and executed fields back together in
 * the request's own order and aliases.
 */

export interface FieldCacheReportEntry {
  readonly hit: boolean;
}

const reports = new WeakMap<object, Map<string, FieldCacheReportEntry>>();

/** Per response key of the request's root fields: answered from the cache or not. */
export function cacheReportFor(contextValue: object): Map<string, FieldCacheReportEntry> {
  return reports.get(contextValue) ?? new Map();
}

/** Any request context from didResolveOperation onwards has these. */
export type CacheableRequest = Pick<GraphQLRequestContext<RequestContext>, 'schema' | 'request' | 'contextValue'> & {
  readonly document?: DocumentNode;
};

function cacheOf(rc: CacheableRequest): FieldCache | undefined {
  const cache = rc.contextValue.services.cache;
  return cache?.options.enabled ? cache : undefined;
}

export function planFor(rc: CacheableRequest, cache: FieldCache): OperationPlan | null {
  if (!rc.document) return null;
  return planOperation({
    schema: rc.schema,
    document: rc.document,
    operationName: rc.request.operationName,
    variables: rc.request.variables,
    viewer: rc.contextValue.viewer,
    ttls: cache.ttlsOf(rc.schema),
    keyPrefix: cache.options.keyPrefix,
  });
}

type DebugEntry = { hit: boolean; ageSeconds: number; ttlSeconds: number };

function debugEntry(f: RootFieldPlan, hit: StoredField | undefined, now: number): DebugEntry {
  if (!f.cache) return { hit: false, ageSeconds: 0, ttlSeconds: 0 };
  if (!hit) return { hit: false, ageSeconds: 0, ttlSeconds: f.cache.ttlSeconds };
  return { hit: true, ageSeconds: Math.max(0, Math.round((now - hit.storedAt) / 100) / 10), ttlSeconds: hit.ttlSeconds };
}

function assemble(plan: OperationPlan, hits: ReadonlyMap<string, StoredField>, executed: Record<string, unknown> | null): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const f of plan.fields) {
    const hit = hits.get(f.responseKey);
    if (hit) data[f.responseKey] = project(hit.data, f.cache!.projection);
    else if (f.cache) data[f.responseKey] = project(executed?.[f.responseKey], f.cache.projection);
    else data[f.responseKey] = executed?.[f.responseKey];
  }
  return data;
}

/**
 * A complete response when every root field of the operation is cacheable and in the cache,
 * else null. Does not wait for fills in progress and does not execute anything: the rate
 * limiter calls this for requests it would otherwise refuse.
 */
export async function answerFromCache(rc: CacheableRequest): Promise<FormattedExecutionResult | null> {
  const cache = cacheOf(rc);
  if (!cache) return null;
  const plan = planFor(rc, cache);
  if (!plan?.allCacheable) return null;
  const found = await cache.peek(plan.fields.map((f) => f.cache!.key));
  const hits = new Map<string, StoredField>();
  for (const f of plan.fields) {
    const v = found.get(f.cache!.key);
    if (!v) return null;
    hits.set(f.responseKey, v);
  }
  reports.set(rc.contextValue, new Map(plan.fields.map((f) => [f.responseKey, { hit: true }])));
  return { data: assemble(plan, hits, null) };
}

export function fieldCachePlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      let plan: OperationPlan | null = null;
      let cache: FieldCache | undefined;
      const hits = new Map<string, StoredField>();
      let fills = new Map<string, Fill<StoredField>>();
      let narrowed = false;
      let bypassed = false;
      let debug = false;

      const releaseAll = () => {
        for (const fill of fills.values()) fill.release();
        fills = new Map();
      };

      return {
        async responseForOperation(rc): Promise<GraphQLResponse | null> {
          cache = cacheOf(rc);
          if (!cache) return null;
          plan = planFor(rc, cache);
          if (!plan) return null;
          debug = rc.request.http?.headers.get('x-cache-debug') === '1';
          const report = new Map<string, FieldCacheReportEntry>(plan.fields.map((f) => [f.responseKey, { hit: false }]));
          reports.set(rc.contextValue, report);
          const cacheable = plan.fields.filter((f) => f.cache);
          if (!cacheable.length) return null;
          if (!cache.store.usable()) {
            cacheBypassTotal.inc({ reason: 'redis_down' }, cacheable.length);
            bypassed = true;
            return null;
          }
          const looked = await cache.lookup(cacheable.map((f) => ({ key: f.cache!.key, resource: f.fieldName })));
          fills = looked.fills;
          for (const f of cacheable) {
            const v = looked.found.get(f.cache!.key);
            if (!v) continue;
            hits.set(f.responseKey, v);
            report.set(f.responseKey, { hit: true });
          }
          if (hits.size === plan.fields.length) {
            const singleResult: FormattedExecutionResult = { data: assemble(plan, hits, null) };
            if (debug) singleResult.extensions = { cache: debugExtension(plan, hits) };
            return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult } };
          }
          const toExecute = new Set(plan.fields.filter((f) => !hits.has(f.responseKey)).map((f) => f.responseKey));
          // Apollo executes requestContext.document after this hook; this narrows it.
          (rc as { document: DocumentNode }).document = documentForMisses(plan, toExecute);
          narrowed = true;
          return null;
        },

        async willSendResponse(rc) {
          if (bypassed && debug && plan && rc.response.body?.kind === 'single') {
            const result = rc.response.body.singleResult;
            rc.response.body = { kind: 'single', singleResult: { ...result, extensions: { ...(result.extensions ?? {}), cache: debugExtension(plan, hits) } } };
          }
          if (!plan || !cache || !narrowed) return;
          try {
            const body = rc.response.body;
            if (!body || body.kind !== 'single') return;
            const result = body.singleResult;
            const executed = (result.data ?? null) as Record<string, unknown> | null;
            const failed = new Set((result.errors ?? []).map((e) => e.path?.[0]).filter((p) => typeof p === 'string'));
            const now = Date.now();
            const saves: Promise<void>[] = [];
            for (const f of plan.fields) {
              if (!f.cache || hits.has(f.responseKey)) continue;
              const fill = fills.get(f.cache.key);
              const value = executed?.[f.responseKey];
              if (executed === null || value === undefined || failed.has(f.responseKey)) {
                fill?.release();
                continue;
              }
              const entry: StoredField = { data: value, storedAt: now, ttlSeconds: f.cache.ttlSeconds };
              fill?.settle(entry); // followers answer now, before the write
              saves.push(cache.save(f.cache.key, entry, rc.contextValue.viewer).finally(() => fill?.release()));
            }
            await Promise.all(saves);
            const extensions = debug ? { ...(result.extensions ?? {}), cache: debugExtension(plan, hits) } : result.extensions;
            rc.response.body = {
              kind: 'single',
              singleResult: { ...result, data: executed === null ? result.data : assemble(plan, hits, executed), ...(extensions ? { extensions } : {}) },
            };
          } finally {
            releaseAll();
          }
        },
      };

      function debugExtension(p: OperationPlan, h: ReadonlyMap<string, StoredField>): Record<string, DebugEntry> {
        const now = Date.now();
        return Object.fromEntries(p.fields.map((f) => [f.responseKey, debugEntry(f, h.get(f.responseKey), now)]));
      }
    },
  };
}
