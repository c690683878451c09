/**
 * A small application instrumented with the OpenTelemetry JS SDK, configured the way users
 * configure theirs: nothing but environment variables (OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES). It records GenAI chat calls as a GenAI instrumentation would and
 * exits after the SDK has flushed. Run: node --import tsx test/support/genai-app.ts '<json calls>'
 */
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SpanStatusCode, trace } from '@opentelemetry/api';

interface Call {
  model: string;
  input: number;
  output: number;
  cached?: number;
  user: string;
  session: string;
  error?: boolean;
}

async function main() {
  const calls = JSON.parse(process.argv[2] ?? '[]') as Call[];
  const sdk = new NodeSDK({ instrumentations: [] });
  sdk.start();
  const tracer = trace.getTracer('genai-test-app', '1.0.0');
  for (const o of calls) {
    const start = Date.now() - 1500;
    tracer.startActiveSpan(`chat ${o.model}`, { startTime: start, kind: 2 }, (parent) => {
      // A non-LLM span of the same trace (an HTTP handler's work): dropped by default.
      const http = tracer.startSpan('GET /api/answer', { startTime: start, attributes: { 'http.request.method': 'GET' } });
      http.end(start + 5);
      parent.setAttributes({
        'gen_ai.provider.name': 'openai',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': o.model,
        'gen_ai.response.model': `${o.model}-2024-08-06`,
        'gen_ai.usage.input_tokens': o.input,
        'gen_ai.usage.output_tokens': o.output,
        ...(o.cached ? { 'gen_ai.usage.cache_read.input_tokens': o.cached } : {}),
        'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: `question from ${o.user}` }] }]),
        'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'an answer' }] }]),
        'user.id': o.user,
        'session.id': o.session,
      });
      parent.addEvent('gen_ai.first_token', {}, start + 250);
      if (o.error) {
        parent.recordException({ name: 'RateLimitError', message: 'slow down' });
        parent.setAttribute('error.type', 'rate_limit');
        parent.setStatus({ code: SpanStatusCode.ERROR, message: 'slow down' });
      }
      parent.end(start + 1200);
    });
  }
  await sdk.shutdown();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
