import { ATTRIBUTE_MAP, RESOURCE_MAP, mapSpan, rowIdFor, type MappedRow, type MappingOptions, type PriceLookup } from '../../src/ingest/genai-mapping';
import type { AttrValue, OtlpEvent, OtlpSpan } from '../../src/ingest/otlp-decode';

/** One case per row of the mapping tables (README "Attribute mapping"). */

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const OPTS: MappingOptions = { nonLlmSpans: 'drop', maxContentChars: 100, maxAgeMs: 170 * 60_000, maxFutureMs: 10 * 60_000, now: NOW };
const PRICES: PriceLookup = (provider, model) =>
  model === 'gpt-4o' || model.startsWith('gpt-4o-') ? { prompt: 0.0025, completion: 0.01, cached: 0.00125 } : provider === 'anthropic' && model === 'claude-sonnet-4' ? { prompt: 0.003, completion: 0.015, cached: 0.0003 } : null;

function span(attributes: Record<string, AttrValue>, over: Partial<OtlpSpan> = {}): OtlpSpan {
  return {
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    parentSpanId: null,
    name: 'chat',
    kind: 3,
    startMs: NOW - 60_000,
    endMs: NOW - 59_000,
    attributes,
    events: [],
    statusCode: 0,
    statusMessage: '',
    ...over,
  };
}

function row(attributes: Record<string, AttrValue>, over: Partial<OtlpSpan> = {}, resource: Record<string, AttrValue> = {}, opts: Partial<MappingOptions> = {}): MappedRow {
  const r = mapSpan(span(attributes, over), { orgId: 'org_a', resource, scopeName: 'scope', serviceName: 'svc' }, PRICES, { ...OPTS, ...opts });
  if (r.kind !== 'row') throw new Error(`expected a row, got ${JSON.stringify(r)}`);
  return r.row;
}
const rejected = (attributes: Record<string, AttrValue>, over: Partial<OtlpSpan> = {}) =>
  mapSpan(span(attributes, over), { orgId: 'org_a', resource: {}, scopeName: '', serviceName: null }, PRICES, OPTS);

const LLM = { 'gen_ai.request.model': 'm' };

// [column, attribute, value given, expected column value]
const CASES: [keyof MappedRow, string, AttrValue, unknown][] = [
  ['provider', 'gen_ai.provider.name', 'openai', 'openai'],
  ['provider', 'gen_ai.system', 'anthropic', 'anthropic'],
  ['provider', 'llm.provider', 'google', 'google'],
  ['provider', 'llm.system', 'mistralai', 'mistral'],
  ['model', 'gen_ai.response.model', 'gpt-4o-2024-08-06', 'gpt-4o-2024-08-06'],
  ['model', 'gen_ai.request.model', 'gpt-4o', 'gpt-4o'],
  ['model', 'llm.model_name', 'claude-3', 'claude-3'],
  ['model', 'llm.response.model', 'r-model', 'r-model'],
  ['model', 'llm.request.model', 'q-model', 'q-model'],
  ['operation', 'gen_ai.operation.name', 'embeddings', 'embedding'],
  ['operation', 'llm.request.type', 'completion', 'completion'],
  ['operation', 'openinference.span.kind', 'LLM', 'chat'],
  ['prompt_tokens', 'gen_ai.usage.input_tokens', 11, 11],
  ['prompt_tokens', 'gen_ai.usage.prompt_tokens', 12, 12],
  ['prompt_tokens', 'llm.token_count.prompt', 13, 13],
  ['prompt_tokens', 'llm.usage.prompt_tokens', 14, 14],
  ['completion_tokens', 'gen_ai.usage.output_tokens', 21, 21],
  ['completion_tokens', 'gen_ai.usage.completion_tokens', 22, 22],
  ['completion_tokens', 'llm.token_count.completion', 23, 23],
  ['completion_tokens', 'llm.usage.completion_tokens', 24, 24],
  ['total_tokens', 'gen_ai.usage.total_tokens', 31, 31],
  ['total_tokens', 'llm.token_count.total', 32, 32],
  ['total_tokens', 'llm.usage.total_tokens', 33, 33],
  ['total_cost_usd', 'gen_ai.usage.cost', 0.5, 0.5],
  ['total_cost_usd', 'llm.cost.total', 0.25, 0.25],
  ['prompt_cost_usd', 'llm.cost.prompt', 0.125, 0.125],
  ['completion_cost_usd', 'llm.cost.completion', 0.0625, 0.0625],
  ['user_id', 'user.id', 'u1', 'u1'],
  ['user_id', 'enduser.id', 'u2', 'u2'],
  ['user_id', 'gen_ai.user.id', 'u3', 'u3'],
  ['session_id', 'session.id', 's1', 's1'],
  ['session_id', 'gen_ai.conversation.id', 's2', 's2'],
  ['input', 'gen_ai.input.messages', '[{"role":"user"}]', '[{"role":"user"}]'],
  ['input', 'gen_ai.prompt', 'hello', 'hello'],
  ['input', 'input.value', 'hi', 'hi'],
  ['input', 'gen_ai.prompt.0.content', 'p0', 'p0'],
  ['input', 'llm.input_messages.0.message.content', 'oi', 'oi'],
  ['output', 'gen_ai.output.messages', '[{"role":"assistant"}]', '[{"role":"assistant"}]'],
  ['output', 'gen_ai.completion', 'bye', 'bye'],
  ['output', 'output.value', 'ok', 'ok'],
  ['output', 'gen_ai.completion.0.content', 'c0', 'c0'],
  ['output', 'llm.output_messages.0.message.content', 'oo', 'oo'],
  ['ttft_ms', 'gen_ai.response.time_to_first_chunk', 0.2, 200],
  ['ttft_ms', 'gen_ai.server.time_to_first_token', 0.3, 300],
  ['ttft_ms', 'llm.response.time_to_first_token', 0.4, 400],
];

const CACHE_READ = ['gen_ai.usage.cache_read.input_tokens', 'gen_ai.usage.cache_read_input_tokens', 'llm.token_count.prompt_details.cache_read', 'llm.usage.cache_read_input_tokens'];

describe('GenAI attribute mapping', () => {
  it('the case list covers every attribute of the table', () => {
    const listed = new Set([...CASES.map((c) => c[1]), ...CACHE_READ]);
    const table = Object.entries(ATTRIBUTE_MAP).filter(([k]) => k !== 'http_status' && k !== 'error_type').flatMap(([, v]) => v);
    expect(table.filter((a) => !listed.has(a))).toEqual([]);
  });

  it.each(CASES)('%s ← %s', (column, attribute, value, expected) => {
    const base = column === 'model' ? {} : { ...LLM };
    expect(row({ ...base, [attribute]: value })[column]).toEqual(expected);
  });

  it('first attribute of a list wins: both conventions on one span count once', () => {
    const r = row({ ...LLM, 'gen_ai.usage.input_tokens': 100, 'llm.token_count.prompt': 100, 'llm.usage.prompt_tokens': 100, 'gen_ai.usage.output_tokens': 10, 'llm.token_count.completion': 10 });
    expect([r.prompt_tokens, r.completion_tokens, r.total_tokens]).toEqual([100, 10, 110]);
  });

  it('a reported total never adds to input + output', () => {
    expect(row({ ...LLM, 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10, 'llm.usage.total_tokens': 999 }).total_tokens).toBe(110);
    // Only a total: counted as input (so cost and totals agree), once.
    const onlyTotal = row({ ...LLM, 'llm.usage.total_tokens': 50 });
    expect([onlyTotal.prompt_tokens, onlyTotal.completion_tokens, onlyTotal.total_tokens]).toEqual([50, 0, 50]);
  });

  it.each(CACHE_READ.map((a) => [a]))('cached_tokens ← %s, part of the input (not added to it), priced at the cached rate', (attribute) => {
    const r = row({ 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 100, [attribute]: 400 });
    expect([r.prompt_tokens, r.cached_tokens, r.total_tokens]).toEqual([1000, 400, 1100]);
    expect(r.prompt_cost_usd).toBeCloseTo(0.6 * 0.0025 + 0.4 * 0.00125, 10);
    expect(r.completion_cost_usd).toBeCloseTo(0.1 * 0.01, 10);
    expect(r.metadata.cost_source).toBe('model_prices');
  });

  it('cost from model_prices when the span carries none; a span cost wins; unpriced models cost 0', () => {
    expect(row({ 'gen_ai.request.model': 'gpt-4o-mini-x', 'gen_ai.usage.input_tokens': 1000 }).metadata.cost_source).toBe('model_prices'); // prefix gpt-4o-
    const span = row({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1000, 'llm.cost.prompt': 1, 'llm.cost.completion': 2 });
    expect([span.prompt_cost_usd, span.completion_cost_usd, span.total_cost_usd, span.metadata.cost_source]).toEqual([1, 2, 3, 'span']);
    const none = row({ 'gen_ai.request.model': 'homegrown', 'gen_ai.usage.input_tokens': 1000 });
    expect([none.total_cost_usd, none.metadata.cost_source]).toEqual([0, 'unpriced']);
  });

  it.each([
    ['project_id is read by the receiver', 'observatory.project.id'],
    ['environment', 'deployment.environment.name'],
    ['environment', 'deployment.environment'],
  ])('resource: %s ← %s', (what, attribute) => {
    expect(RESOURCE_MAP.project_id.includes('observatory.project.id' as never)).toBe(true);
    if (what === 'environment') expect(row({ ...LLM }, {}, { [attribute]: 'staging' }).environment).toBe('staging');
  });

  it('defaults: provider/model unknown, operation chat, environment production, status 200', () => {
    const r = row({ 'gen_ai.usage.input_tokens': 1 });
    expect([r.provider, r.model, r.operation, r.environment, r.status_code, r.error_type]).toEqual(['unknown', 'unknown', 'chat', 'production', 200, null]);
  });

  it('status ERROR → 500 (or the HTTP status) and error.type, else exception.type, else "error"', () => {
    expect(row({ ...LLM, 'error.type': 'rate_limit' }, { statusCode: 2 })).toMatchObject({ status_code: 500, error_type: 'rate_limit' });
    expect(row({ ...LLM, 'http.response.status_code': 429 }, { statusCode: 2 })).toMatchObject({ status_code: 429, error_type: 'error' });
    expect(row({ ...LLM, 'http.status_code': 503 }, {})).toMatchObject({ status_code: 503 });
    const exception: OtlpEvent = { name: 'exception', timeMs: NOW - 59_500, attributes: { 'exception.type': 'TimeoutError' } };
    expect(row({ ...LLM }, { statusCode: 2, events: [exception], statusMessage: 'timed out' })).toMatchObject({ status_code: 500, error_type: 'TimeoutError', metadata: { status_message: 'timed out' } });
    expect(row({ ...LLM }, { statusCode: 1 })).toMatchObject({ status_code: 200, error_type: null });
  });

  it('duration from start/end; TTFT from a first-token event', () => {
    const r = row({ ...LLM }, { startMs: NOW - 60_000, endMs: NOW - 57_500, events: [{ name: 'gen_ai.first_token', timeMs: NOW - 59_700, attributes: {} }] });
    expect(r.duration_ms).toBe(2500);
    expect(r.ttft_ms).toBe(300);
    expect(r.ts.getTime()).toBe(NOW - 60_000);
  });

  it.each([
    ['input', 'gen_ai.content.prompt', { 'gen_ai.prompt': 'from event' }],
    ['input', 'gen_ai.user.message', { content: 'user said' }],
    ['output', 'gen_ai.content.completion', { 'gen_ai.completion': 'done' }],
    ['output', 'gen_ai.choice', { message: 'chosen' }],
  ] as const)('content %s from event %s', (column, name, attributes) => {
    const r = row({ ...LLM }, { events: [{ name, timeMs: NOW - 59_900, attributes }] });
    expect(r[column]).toBe(Object.values(attributes)[0]);
  });

  it('structured content becomes JSON; long content is cut and flagged', () => {
    expect(row({ ...LLM, 'gen_ai.prompt': ['a', 'b'] }).input).toBe('["a","b"]');
    const long = row({ ...LLM, 'gen_ai.prompt': 'x'.repeat(150) });
    expect(long.input).toHaveLength(100);
    expect(long.metadata.truncated).toEqual({ input: 150 });
  });

  it('non-LLM spans: dropped, or kept with provider/model "none" and operation "span"', () => {
    const plain = span({ 'http.request.method': 'GET' });
    expect(mapSpan(plain, { orgId: 'o', resource: {}, scopeName: '', serviceName: null }, PRICES, OPTS)).toEqual({ kind: 'skip' });
    const kept = mapSpan(plain, { orgId: 'o', resource: {}, scopeName: '', serviceName: null }, PRICES, { ...OPTS, nonLlmSpans: 'keep' });
    expect(kept).toMatchObject({ kind: 'row', row: { provider: 'none', model: 'none', operation: 'span', total_cost_usd: 0, metadata: { llm: false } } });
  });

  it('refuses what the table cannot hold, with a code', () => {
    expect(rejected({ ...LLM, 'gen_ai.usage.input_tokens': 1.5 })).toMatchObject({ kind: 'reject', code: 'INVALID_SPAN' });
    expect(rejected({ ...LLM, 'gen_ai.usage.input_tokens': 2 ** 31 })).toMatchObject({ kind: 'reject', code: 'INVALID_SPAN' });
    expect(rejected({ ...LLM, 'session.id': 'a\u0000b' })).toMatchObject({ kind: 'reject', code: 'INVALID_SPAN', message: expect.stringContaining('NUL') });
    expect(rejected({ ...LLM }, { name: 'bad\u0000name' })).toMatchObject({ kind: 'reject', code: 'INVALID_SPAN' });
    expect(rejected({ ...LLM, 'gen_ai.usage.cost': 1e9 })).toMatchObject({ kind: 'reject', code: 'INVALID_SPAN' });
    expect(rejected({ ...LLM }, { endMs: NOW - 70_000 })).toMatchObject({ kind: 'reject', code: 'INVALID_SPAN' });
    expect(rejected({ ...LLM }, { startMs: NOW - 200 * 60_000, endMs: NOW - 199 * 60_000 })).toMatchObject({ kind: 'reject', code: 'SPAN_OUT_OF_RANGE' });
    expect(rejected({ ...LLM }, { startMs: NOW + 60 * 60_000, endMs: NOW + 61 * 60_000 })).toMatchObject({ kind: 'reject', code: 'SPAN_OUT_OF_RANGE' });
  });

  it('row ids: the same span of the same org is the same id; other orgs and spans differ', () => {
    const id = rowIdFor('org_a', 'a'.repeat(32), 'b'.repeat(16));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rowIdFor('org_a', 'a'.repeat(32), 'b'.repeat(16))).toBe(id);
    expect(rowIdFor('org_b', 'a'.repeat(32), 'b'.repeat(16))).not.toBe(id);
    expect(rowIdFor('org_a', 'a'.repeat(32), 'c'.repeat(16))).not.toBe(id);
  });
});

describe('README mapping table', () => {
  it('names every attribute the mapping reads', () => {
    const readme = require('node:fs').readFileSync(require('node:path').resolve(__dirname, '../../README.md'), 'utf8') as string;
    const section = readme.slice(readme.indexOf('### Attribute mapping'), readme.indexOf('### Live demo'));
    const all = [...Object.values(ATTRIBUTE_MAP).flat(), ...Object.values(RESOURCE_MAP).flat()];
    expect(all.filter((a) => !section.includes(`\`${a}\``))).toEqual([]);
  });
});
