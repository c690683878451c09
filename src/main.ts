// First: tracing must be running before http and pg are loaded (they are patched as they load).
import './telemetry/register';
import { ConfigError, loadConfig, type Config } from './config';
import { shutdownTracing } from './telemetry/tracing';
import { createLogger } from './logger';
import { startGateway } from './app';
import { IDLE_GRACE_MS } from './http-drain';

/** Where instrumented applications send spans, and the exporter settings that do it. */
function otlpBanner(gateway: Awaited<ReturnType<typeof startGateway>>): string[] {
  if (!gateway.otlpUrl) return [];
  const key = gateway.demoKeys.find((k) => k.role === 'INGEST') ?? gateway.demoKeys.find((k) => k.role === 'DEVELOPER');
  const project = gateway.liveDemo?.projectIds[0] ?? '<project id>';
  return [
    `  OTLP/HTTP traces endpoint: ${gateway.otlpUrl}` +
      (gateway.liveDemo ? ` (live demo: ${gateway.liveDemo.perSecond} synthetic calls/s through it; DEMO_LIVE=false stops it)` : ''),
    '  Point an OpenTelemetry SDK (GenAI, OpenInference or OpenLLMetry instrumentation) at it:',
    `    export OTEL_EXPORTER_OTLP_ENDPOINT=${gateway.otlpUrl.replace(/\/v1\/traces$/, '')}`,
    `    export OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer ${key?.key ?? '<INGEST key>'}"`,
    '    export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf   # or http/json',
    `    export OTEL_RESOURCE_ATTRIBUTES=observatory.project.id=${project}`,
    '',
  ];
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config);
  const started = Date.now();
  const gateway = await startGateway(config, logger);
  logger.info({ url: gateway.url, playground: gateway.playgroundUrl, mode: gateway.services.database.mode, startupMs: Date.now() - started }, 'gateway listening');

  if (gateway.demoKeys.length) {
    const lines = [
      '',
      `  Observatory Analytics Gateway is running at ${gateway.url}`,
      ...(gateway.playgroundUrl ? [`  Playground (GraphiQL, sign in with a key below): ${gateway.playgroundUrl}`] : []),
      `  Storage: embedded PGlite + TimescaleDB in ${config.dataDir} (demo data)`,
      '  Demo API keys (send as "Authorization: Bearer <key>"):',
      ...gateway.demoKeys.map((k) => `    ${k.role.padEnd(9)} ${k.orgId.padEnd(14)} ${k.key}`),
      '',
      `  Try: curl -s ${gateway.url} -H 'content-type: application/json' \\`,
      `         -H 'authorization: Bearer ${gateway.demoKeys[0]?.key}' \\`,
      `         -d '{"query":"{ viewer { orgId role } traces(first: 3) { nodes { id model totalCostUsd } } }"}'`,
      '',
      ...otlpBanner(gateway),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    // A dependency that hangs while closing (a pool waiting on a dead server) must not keep a
    // terminated pod around: past the drain and its deadline, with room for closing, exit anyway.
    const limitMs = config.http.drainDelayMs + IDLE_GRACE_MS + config.http.shutdownTimeoutMs + 5000;
    setTimeout(() => {
      logger.warn({ limitMs }, 'shutdown did not finish in time: exiting anyway');
      process.exit(1);
    }, limitMs).unref();
    gateway
      .stop()
      .then(() => shutdownTracing().catch((err) => logger.warn({ err }, 'flushing spans failed')))
      .then(() => {
        logger.info('shutdown complete');
        process.exit(0);
      })
      .catch((err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
