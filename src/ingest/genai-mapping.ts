import { createHash } from 'node:crypto';
import type { AttrValue, Attributes, OtlpEvent, OtlpSpan } from './otlp-decode';

/**
 * One OTLP span → one `traces` row, for the conventions instrumented applications emit today:
 * OpenTelemetry GenAI semantic conventions (current and older names), OpenInference
 * (Arize Phoenix) and OpenLLMetry (Traceloop). The tables below are the documentation: the README
 * prints them, and test/unit/genai-mapping.test.ts has one case per row.
 *
 * Double counting is avoided by construction: every column takes the FIRST attribute of its
 * list that is present, never a sum across conventions, so a span carrying both
 * `gen_ai.usage.input_tokens` and `llm.token_count.prompt` (instrumentations that emit both)
 * counts its tokens once; `total_tokens` is input + output when both are known and a reported
 * total is used only when neither is.
 */

/** Column ← attributes, first present wins. */
export const ATTRIBUTE_MAP = {
  provider: ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system'],
  model: ['gen_ai.response.model', 'gen_ai.request.model', 'llm.model_name', 'llm.response.model', 'llm.request.model'],
  operation: ['gen_ai.operation.name', 'llm.request.type', 'openinference.span.kind'],
  prompt_tokens: ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'llm.usage.prompt_tokens'],
  completion_tokens: ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion', 'llm.usage.completion_tokens'],
  cached_tokens: [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    'llm.token_count.prompt_details.cache_read',
    'llm.usage.cache_read_input_tokens',
  ],
  total_tokens: ['gen_ai.usage.total_tokens', 'llm.token_count.total', 'llm.usage.total_tokens'],
  total_cost_usd: ['gen_ai.usage.cost', 'llm.cost.total'],
  prompt_cost_usd: ['llm.cost.prompt'],
  completion_cost_usd: ['llm.cost.completion'],
  user_id: ['user.id', 'enduser.id', 'gen_ai.user.id'],
  session_id: ['session.id', 'gen_ai.conversation.id'],
  input: ['gen_ai.input.messages', 'gen_ai.prompt', 'input.value', 'gen_ai.prompt.0.content', 'llm.input_messages.0.message.content'],
  output: ['gen_ai.output.messages', 'gen_ai.completion', 'output.value', 'gen_ai.completion.0.content', 'llm.output_messages.0.message.content'],
  ttft_ms: ['gen_ai.response.time_to_first_chunk', 'gen_ai.server.time_to_first_token', 'llm.response.time_to_first_token'],
  http_status: ['http.response.status_code', 'http.status_code'],
  error_type: ['error.type'],
} as const satisfies Record<string, readonly string[]>;

/** Resource attributes. */
export const RESOURCE_MAP = {
  project_id: ['observatory.project.id'],
  environment: ['deployment.environment.name', 'deployment.environment'],
} as const;

/** Span events read when the attributes above are absent (event name → what it gives). */
export const EVENT_MAP = {
  input: ['gen_ai.content.prompt (attribute gen_ai.prompt)', 'gen_ai.user.message / gen_ai.system.message (attribute content)'],
  output: ['gen_ai.content.completion (attribute gen_ai.completion)', 'gen_ai.choice (attribute message or content)'],
  ttft_ms: ['gen_ai.first_token / first_token (event time − span start)'],
  error_type: ['exception (attribute exception.type)'],
} as const;

/** gen_ai.operation.name / llm.request.type / openinference.span.kind → the API's operations. */
const OPERATIONS: Record<string, string> = {
  chat: 'chat',
  generate_content: 'chat',
  llm: 'chat',
  text_completion: 'completion',
  completion: 'completion',
  embeddings: 'embedding',
  embedding: 'embedding',
  execute_tool: 'tool_call',
  tool: 'tool_call',
};

/** Provider names of the conventions → the ones model_prices uses. */
const PROVIDERS: Record<string, string> = {
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'gcp.gen_ai': 'google',
  gemini: 'google',
  vertex_ai: 'google',
  'az.ai.openai': 'azure',
  'azure.ai.openai': 'azure',
  'aws.bedrock': 'bedrock',
  mistral_ai: 'mistral',
  mistralai: 'mistral',
};

export type NonLlmSpanRule = 'drop' | 'keep';

export interface MappingOptions {
  readonly nonLlmSpans: NonLlmSpanRule;
  /** input/output longer than this (UTF-16 code units) are cut; metadata.truncated says so. */
  readonly maxContentChars: number;
  /** Spans that started longer ago than this are refused (the rollups would not fold them in). */
  readonly maxAgeMs: number;
  /** Spans that start further in the future than this are refused (clock skew allowance). */
  readonly maxFutureMs: number;
  readonly now: number;
}

export interface Price {
  readonly prompt: number;
  readonly completion: number;
  readonly cached: number;
}
export type PriceLookup = (provider: string, model: string, at: Date) => Price | null;

/** A row for `traces` minus tenancy (org and project are the caller's decision). */
export interface MappedRow {
  ts: Date;
  id: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  provider: string;
  model: string;
  operation: string;
  user_id: string | null;
  session_id: string | null;
  environment: string;
  status_code: number;
  error_type: string | null;
  duration_ms: number;
  ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  prompt_cost_usd: number;
  completion_cost_usd: number;
  total_cost_usd: number;
  input: string | null;
  output: string | null;
  metadata: Record<string, unknown>;
}

export type RejectCode = 'INVALID_SPAN' | 'SPAN_OUT_OF_RANGE';
export type MapResult =
  | { readonly kind: 'row'; readonly row: MappedRow }
  | { readonly kind: 'skip' }
  | { readonly kind: 'reject'; readonly code: RejectCode; readonly message: string };

const MAX_LABEL = 256;
const MAX_INT = 2_147_483_647;
/** numeric(14, 8): below 10^6 USD. */
const MAX_COST = 999_999;

class SpanRejected extends Error {
  constructor(readonly code: RejectCode, message: string) {
    super(message);
  }
}

const first = (attrs: Attributes, keys: readonly string[]): AttrValue | undefined => {
  for (const k of keys) {
    const v = attrs[k];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
};

/** PostgreSQL text and jsonb cannot hold U+0000: such a span is refused, not silently altered. */
function noNul(s: string, what: string): string {
  if (s.includes('\u0000')) throw new SpanRejected('INVALID_SPAN', `${what} contains a NUL character`);
  return s;
}

function label(v: AttrValue | undefined, what: string): string | null {
  if (v === undefined || v === null) return null;
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
  if (s === null) throw new SpanRejected('INVALID_SPAN', `${what} must be a string`);
  if (s.includes('\u0000')) throw new SpanRejected('INVALID_SPAN', `${what} contains a NUL character`);
  if (s.length > MAX_LABEL) throw new SpanRejected('INVALID_SPAN', `${what} is longer than ${MAX_LABEL} characters`);
  return s;
}

function count(v: AttrValue | undefined, what: string): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_INT) {
    throw new SpanRejected('INVALID_SPAN', `${what} must be a non-negative integer below 2^31`);
  }
  return n;
}

function amount(v: AttrValue | undefined, what: string): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_COST) throw new SpanRejected('INVALID_SPAN', `${what} must be a non-negative number of USD below 10^6`);
  return n;
}

/** Content: strings as given, structured values (message lists) as JSON. */
function content(v: AttrValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function contentFromEvents(events: readonly OtlpEvent[], side: 'input' | 'output'): string | null {
  const parts: string[] = [];
  for (const e of events) {
    if (side === 'input') {
      if (e.name === 'gen_ai.content.prompt' && e.attributes['gen_ai.prompt'] != null) parts.push(content(e.attributes['gen_ai.prompt'])!);
      else if ((e.name === 'gen_ai.user.message' || e.name === 'gen_ai.system.message') && e.attributes.content != null) parts.push(content(e.attributes.content)!);
    } else {
      if (e.name === 'gen_ai.content.completion' && e.attributes['gen_ai.completion'] != null) parts.push(content(e.attributes['gen_ai.completion'])!);
      else if (e.name === 'gen_ai.choice') {
        const v = e.attributes.message ?? e.attributes.content;
        if (v != null) parts.push(content(v)!);
      }
    }
  }
  return parts.length === 0 ? null : parts.length === 1 ? parts[0]! : JSON.stringify(parts);
}

/** Seconds in the GenAI conventions (`gen_ai.*.time_to_first_*`); OpenLLMetry's is seconds too. */
function ttftOf(span: OtlpSpan): number | null {
  const v = first(span.attributes, ATTRIBUTE_MAP.ttft_ms);
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  for (const e of span.events) {
    if ((e.name === 'gen_ai.first_token' || e.name === 'first_token') && e.timeMs >= span.startMs) return e.timeMs - span.startMs;
  }
  return null;
}

export const isLlmSpan = (span: OtlpSpan): boolean => {
  const kind = span.attributes['openinference.span.kind'];
  if (kind === 'LLM' || kind === 'EMBEDDING') return true;
  for (const k in span.attributes) if (k.startsWith('gen_ai.') || k.startsWith('llm.')) return true;
  return false;
};

/**
 * The row id: a UUID derived from (org, trace id, span id), the span's identity: a retried or
 * duplicated export — even one whose start time differs — lands on the same id, which is unique
 * (migration 20261204150000_span_identity; on TimescaleDB the insert skips stored ids), so
 * one row is kept: the first stored.
 */
export function rowIdFor(orgId: string, traceId: string, spanId: string): string {
  const h = createHash('sha256').update(orgId).update('\u0000').update(traceId).update('\u0000').update(spanId).digest('hex');
  // Version 8 (custom) UUID layout.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const round8 = (x: number) => Math.round(x * 1e8) / 1e8;

function cap(text: string | null, max: number, key: 'input' | 'output', truncated: Record<string, number>): string | null {
  if (text === null) return null;
  if (text.includes('\u0000')) throw new SpanRejected('INVALID_SPAN', `${key} contains a NUL character`);
  if (text.length <= max) return text;
  truncated[key] = text.length;
  // Never cut a surrogate pair in half.
  let end = max;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

export function mapSpan(
  span: OtlpSpan,
  ctx: SpanContext,
  prices: PriceLookup,
  opts: MappingOptions,
): MapResult {
  const llm = isLlmSpan(span);
  if (!llm && opts.nonLlmSpans === 'drop') return { kind: 'skip' };
  try {
    return { kind: 'row', row: buildRow(span, ctx, prices, opts, llm) };
  } catch (err) {
    if (err instanceof SpanRejected) return { kind: 'reject', code: err.code, message: err.message };
    throw err;
  }
}

type SpanContext = { orgId: string; resource: Attributes; scopeName: string; serviceName: string | null };

/** The span's duration, once its start lies in the accepted window and its end after its start. */
function checkedDurationMs(span: OtlpSpan, opts: MappingOptions): number {
  if (!Number.isFinite(span.startMs) || span.startMs <= 0) throw new SpanRejected('INVALID_SPAN', 'span has no start time');
  if (span.startMs < opts.now - opts.maxAgeMs || span.startMs > opts.now + opts.maxFutureMs) {
    throw new SpanRejected('SPAN_OUT_OF_RANGE', `span starts at ${new Date(span.startMs).toISOString()}, outside the accepted window (${Math.round(opts.maxAgeMs / 60000)} min back to ${Math.round(opts.maxFutureMs / 60000)} min ahead)`);
  }
  if (span.endMs < span.startMs) throw new SpanRejected('INVALID_SPAN', 'span ends before it starts');
  const durationMs = span.endMs - span.startMs;
  if (durationMs > 86_400_000) throw new SpanRejected('INVALID_SPAN', 'span lasts longer than a day');
  return durationMs;
}

/** Provider, model and operation, normalised; defaults tell LLM spans from others. */
function classifyCall(a: Attributes, llm: boolean): { provider: string; model: string; operation: string } {
  const rawProvider = label(first(a, ATTRIBUTE_MAP.provider), 'provider');
  const provider = rawProvider ? (PROVIDERS[rawProvider.toLowerCase()] ?? rawProvider.toLowerCase()) : llm ? 'unknown' : 'none';
  const model = label(first(a, ATTRIBUTE_MAP.model), 'model') ?? (llm ? 'unknown' : 'none');
  const rawOperation = label(first(a, ATTRIBUTE_MAP.operation), 'operation');
  const operation = rawOperation ? (OPERATIONS[rawOperation.toLowerCase()] ?? rawOperation.toLowerCase().slice(0, 64)) : llm ? 'chat' : 'span';
  return { provider, model, operation };
}

interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
  cached: number;
  totalTokens: number;
}

/** Token counts; a reported total stands in for input when only it is given. */
function tokenCounts(a: Attributes): TokenCounts {
  const input = count(first(a, ATTRIBUTE_MAP.prompt_tokens), 'input tokens');
  const output = count(first(a, ATTRIBUTE_MAP.completion_tokens), 'output tokens');
  const cached = count(first(a, ATTRIBUTE_MAP.cached_tokens), 'cache-read tokens') ?? 0;
  const reportedTotal = count(first(a, ATTRIBUTE_MAP.total_tokens), 'total tokens');
  const promptTokens = input ?? (output === null && reportedTotal !== null ? reportedTotal : 0);
  const completionTokens = output ?? 0;
  const totalTokens = input !== null || output !== null ? promptTokens + completionTokens : (reportedTotal ?? 0);
  if (totalTokens > MAX_INT) throw new SpanRejected('INVALID_SPAN', 'token counts add up to more than 2^31');
  // Cache reads are part of the input in every convention; more cached than input is bad data.
  if (cached > promptTokens) throw new SpanRejected('INVALID_SPAN', 'cache-read tokens exceed input tokens');
  return { promptTokens, completionTokens, cached, totalTokens };
}

function baseMetadata(span: OtlpSpan, ctx: SpanContext, llm: boolean): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    source: 'otlp',
    span_name: noNul(span.name, 'span name').slice(0, MAX_LABEL),
    ...(ctx.serviceName ? { service: noNul(ctx.serviceName, 'service.name').slice(0, MAX_LABEL) } : {}),
    ...(ctx.scopeName ? { scope: noNul(ctx.scopeName, 'scope name').slice(0, MAX_LABEL) } : {}),
  };
  if (!llm) metadata.llm = false;
  return metadata;
}

interface SpanCosts {
  promptCost: number;
  completionCost: number;
  totalCost: number;
}

/**
 * Costs the span reports, else priced from the price book (LLM spans only), else zero;
 * `metadata.cost_source` records which.
 */
function spanCosts(a: Attributes, call: { llm: boolean; provider: string; model: string; ts: Date }, tokens: TokenCounts, prices: PriceLookup, metadata: Record<string, unknown>): SpanCosts {
  let promptCost = amount(first(a, ATTRIBUTE_MAP.prompt_cost_usd), 'prompt cost');
  let completionCost = amount(first(a, ATTRIBUTE_MAP.completion_cost_usd), 'completion cost');
  let totalCost = amount(first(a, ATTRIBUTE_MAP.total_cost_usd), 'total cost');
  if (totalCost !== null || promptCost !== null || completionCost !== null) {
    promptCost ??= 0;
    completionCost ??= 0;
    totalCost ??= round8(promptCost + completionCost);
    metadata.cost_source = 'span';
    return { promptCost, completionCost, totalCost };
  }
  const price = call.llm ? prices(call.provider, call.model, call.ts) : null;
  if (!price) {
    if (call.llm) metadata.cost_source = 'unpriced';
    return { promptCost: 0, completionCost: 0, totalCost: 0 };
  }
  const { promptTokens, completionTokens, cached } = tokens;
  promptCost = round8(((promptTokens - cached) / 1000) * price.prompt + (cached / 1000) * price.cached);
  completionCost = round8((completionTokens / 1000) * price.completion);
  metadata.cost_source = 'model_prices';
  return { promptCost, completionCost, totalCost: round8(promptCost + completionCost) };
}

/** HTTP-like status and error type: an error span without a 4xx/5xx status counts as 500. */
function errorOutcome(span: OtlpSpan, a: Attributes, metadata: Record<string, unknown>): { statusCode: number; errorType: string | null } {
  const httpStatus = count(first(a, ATTRIBUTE_MAP.http_status), 'HTTP status');
  const exception = span.events.find((e) => e.name === 'exception');
  const isError = span.statusCode === 2 || (httpStatus !== null && httpStatus >= 400);
  const statusCode = isError ? (httpStatus !== null && httpStatus >= 400 && httpStatus <= 599 ? httpStatus : 500) : 200;
  const errorType = isError
    ? (label(first(a, ATTRIBUTE_MAP.error_type), 'error.type') ?? label(exception?.attributes['exception.type'] ?? null, 'exception.type') ?? 'error')
    : null;
  if (isError && span.statusMessage) metadata.status_message = noNul(span.statusMessage, 'status message').slice(0, 1024);
  return { statusCode, errorType };
}

/** Input and output text from attributes or events, capped; `metadata.truncated` keeps the original lengths. */
function spanContent(span: OtlpSpan, a: Attributes, maxChars: number, metadata: Record<string, unknown>): { input: string | null; output: string | null } {
  const truncated: Record<string, number> = {};
  const input = cap(content(first(a, ATTRIBUTE_MAP.input)) ?? contentFromEvents(span.events, 'input'), maxChars, 'input', truncated);
  const output = cap(content(first(a, ATTRIBUTE_MAP.output)) ?? contentFromEvents(span.events, 'output'), maxChars, 'output', truncated);
  if (Object.keys(truncated).length) metadata.truncated = truncated;
  return { input, output };
}

function buildRow(span: OtlpSpan, ctx: SpanContext, prices: PriceLookup, opts: MappingOptions, llm: boolean): MappedRow {
  const a = span.attributes;
  const durationMs = checkedDurationMs(span, opts);
  const { provider, model, operation } = classifyCall(a, llm);
  const tokens = tokenCounts(a);
  const ts = new Date(span.startMs);
  const metadata = baseMetadata(span, ctx, llm);
  const costs = spanCosts(a, { llm, provider, model, ts }, tokens, prices, metadata);
  const { statusCode, errorType } = errorOutcome(span, a, metadata);
  const text = spanContent(span, a, opts.maxContentChars, metadata);
  const environment = label(first(ctx.resource, RESOURCE_MAP.environment), 'deployment.environment') ?? 'production';

  return {
    ts,
    id: rowIdFor(ctx.orgId, span.traceId, span.spanId),
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    provider,
    model,
    operation,
    user_id: label(first(a, ATTRIBUTE_MAP.user_id), 'user id'),
    session_id: label(first(a, ATTRIBUTE_MAP.session_id), 'session id'),
    environment,
    status_code: statusCode,
    error_type: errorType,
    duration_ms: durationMs,
    ttft_ms: ttftOf(span),
    prompt_tokens: tokens.promptTokens,
    completion_tokens: tokens.completionTokens,
    cached_tokens: tokens.cached,
    total_tokens: tokens.totalTokens,
    prompt_cost_usd: costs.promptCost,
    completion_cost_usd: costs.completionCost,
    total_cost_usd: costs.totalCost,
    input: text.input,
    output: text.output,
    metadata,
  };
}

/** The project a resource names (`observatory.project.id`), if any. */
export function projectOfResource(resource: Attributes): string | null {
  const v = first(resource, RESOURCE_MAP.project_id);
  return typeof v === 'string' ? v : null;
}
