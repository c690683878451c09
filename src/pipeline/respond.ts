import { HeaderMap, type GraphQLRequestContext, type GraphQLResponse } from '@apollo/server';
import { Kind, execute, type DocumentNode, type FormattedExecutionResult } from 'graphql';
import type { RequestContext } from '../context';
import { CachedField } from '../cache/entry-codec';
import type { FieldCache } from '../cache/field-cache';
import type { OperationPlan } from '../cache/operation-plan';
import { RawJson } from '../cache/response-text';
import { project } from '../cache/stored-shape';
import type { OperationRecord } from './operation-record';

type Rc = GraphQLRequestContext<RequestContext>;

/**
 * Stage "answer": a dry run, an answer from the cache (complete, or after a budget refusal),
 * or, when Apollo has to execute, the document narrowed to what the cache did not hold
 * (cacheable fields in their stored shape, so that the result can be stored as it comes).
 */
export async function answerWithoutExecution(rc: Rc, record: OperationRecord): Promise<GraphQLResponse | null> {
  const compiled = record.compiled;
  if (!compiled) return null;
  const plan = compiled.cachePlan;
  const cache = record.cache;
  if (record.answer === 'cache-after-refusal') {
    const headers = new HeaderMap([['x-served-from-cache', 'true']]);
    return { http: { status: undefined, headers }, body: { kind: 'single', singleResult: { data: dataFromCache(plan!, cache!.hits, Boolean(rc.request.http)) } } };
  }
  if (record.price?.dryRun) {
    record.answer = 'dry-run';
    return dryRunResponse(rc, record);
  }
  if (plan && cache && !cache.bypassed) {
    if (cache.hits.size === plan.fields.length) {
      record.answer = 'cache';
      return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: dataFromCache(plan, cache.hits, Boolean(rc.request.http)) } } };
    }
    const missing = new Set(plan.fields.filter((f) => !cache.hits.has(f.responseKey)).map((f) => f.responseKey));
    // Apollo executes requestContext.document after this hook.
    (rc as { document: DocumentNode }).document = compiled.documentFor(missing);
  }
  record.answer = 'execution';
  return null;
}

/** Over HTTP the stored text goes out as is (see response-text.ts); elsewhere, values. */
function fieldOut(hit: CachedField, reader: NonNullable<OperationPlan['fields'][number]['cache']>, http: boolean): unknown {
  return http ? new RawJson(hit.textFor(reader)) : project(hit.value(), reader.projection);
}

function dataFromCache(plan: OperationPlan, hits: ReadonlyMap<string, CachedField>, http: boolean): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const f of plan.fields) data[f.responseKey] = fieldOut(hits.get(f.responseKey)!, f.cache!, http);
  return data;
}

/**
 * Stage "execution of what is missing", after Apollo ran it: each executed cacheable field
 * that produced no error is stored (followers of its fill get it at once; the write is not
 * waited for) and the response is put back together in the request's order and aliases, hits
 * spliced in. `record.executed` keeps the request-shaped values of what ran, for the actual cost.
 */
export function storeAndAssemble(rc: Rc, record: OperationRecord, cache: FieldCache | undefined): void {
  const body = rc.response.body;
  const single = body?.kind === 'single' ? body.singleResult : undefined;
  const c = record.cache;
  const plan = record.compiled?.cachePlan;
  if (!single || record.answer !== 'execution') return;
  const executed = (single.data ?? null) as Record<string, unknown> | null;
  if (!plan || !c || c.bypassed || !cache || executed === null) {
    record.executed = executed ?? undefined;
    return;
  }
  const failed = new Set((single.errors ?? []).map((e) => e.path?.[0]).filter((p) => typeof p === 'string'));
  const http = Boolean(rc.request.http);
  const now = Date.now();
  const data: Record<string, unknown> = {};
  const values: Record<string, unknown> = {};
  for (const f of plan.fields) {
    const key = f.responseKey;
    const hit = c.hits.get(key);
    if (hit) {
      data[key] = fieldOut(hit, f.cache!, http);
      continue;
    }
    const value = executed[key];
    if (!f.cache) {
      data[key] = values[key] = value;
      continue;
    }
    const reader = f.cache;
    const shaped = reader.responseShape === reader.storedShape ? value : project(value, reader.projection);
    values[key] = shaped;
    const fill = c.fills.get(reader.key);
    if (value === undefined || failed.has(key)) {
      fill?.release();
      data[key] = shaped;
      continue;
    }
    const entry = new CachedField(JSON.stringify(value), reader.storedShape, now, reader.ttlSeconds);
    fill?.settle(entry); // followers answer now, before the write
    void cache.save(reader.key, entry, rc.contextValue.viewer).finally(() => fill?.release());
    data[key] = http ? new RawJson(entry.textFor(reader)) : shaped;
  }
  c.fills = new Map();
  record.executed = values;
  const result: FormattedExecutionResult = { ...single, data };
  rc.response.body = { kind: 'single', singleResult: result };
}

/** Fills this request claimed but did not settle (it failed before storing): others may lead. */
export function releaseFills(record: OperationRecord): void {
  const c = record.cache;
  if (!c) return;
  for (const fill of c.fills.values()) fill.release();
  c.fills = new Map();
}

/** rateLimit(dryRun: true): run only the document's rateLimit fields; nothing else executes. */
async function dryRunResponse(rc: Rc, record: OperationRecord): Promise<GraphQLResponse> {
  const price = record.price!;
  const onlyRateLimit: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        ...price.operation,
        selectionSet: {
          ...price.operation.selectionSet,
          selections: price.operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD && s.name.value === 'rateLimit'),
        },
      },
      ...Object.values(price.fragments),
    ],
  };
  const result = await execute({ schema: rc.schema, document: onlyRateLimit, contextValue: rc.contextValue, variableValues: rc.request.variables });
  return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: result as never } };
}
