import type { Config } from './config';
import type { RunningGateway } from './app';
import { redactUrl } from './shared/redact-url';

/**
 * A start the gateway refuses although the configuration parses: a production build without
 * DATABASE_URL would otherwise fall back to the embedded demo database and print ADMIN keys.
 */
export function startupRefusal(config: Config): string | null {
  if (config.isProduction && !config.database.url && !config.database.embeddedChosen) {
    return (
      'NODE_ENV=production and no DATABASE_URL. Set DATABASE_URL to your PostgreSQL/TimescaleDB, ' +
      'or DATABASE_MODE=embedded to run the single-process embedded database on purpose (no demo data unless DEMO_DATA=true).'
    );
  }
  return null;
}

const list = (names: readonly string[]) => (names.length > 4 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', '));

/** What a person starting the gateway needs to know, as printed on stdout. */
export function startupBanner(config: Config, gw: Pick<RunningGateway, 'url' | 'playgroundUrl' | 'metricsUrl' | 'demoKeys' | 'services' | 'startup' | 'otlpUrl' | 'liveDemo'>): string {
  const { startup } = gw;
  const mode = gw.services.database.mode;
  const { applied, appliedNow } = startup.migrations;
  const metrics = config.telemetry.metrics;
  const lines = [
    '',
    `  Observatory Analytics Gateway is running at ${gw.url}`,
    ...(gw.playgroundUrl ? [`  Playground (GraphiQL, sign in with an API key): ${gw.playgroundUrl}`] : []),
    mode === 'embedded'
      ? `  Storage: embedded PGlite + TimescaleDB in ${config.dataDir}${gw.demoKeys.length ? ' (demo data)' : ''}`
      : `  Storage: ${mode} mode, ${redactUrl(config.database.url!)}${config.database.readonlyUrl ? ` (reads: ${redactUrl(config.database.readonlyUrl)})` : ''}`,
    `  Migrations: ${applied.length} applied${appliedNow.length ? `, ${appliedNow.length} of them now (${list(appliedNow)})` : ', none pending'}`,
    `  Redis: ${
      startup.redis === 'none'
        ? 'none (REDIS_URL unset): rate limits and cache live in this process'
        : startup.redis === 'connected'
          ? `${redactUrl(config.redisUrl!)} connected`
          : `${redactUrl(config.redisUrl!)} UNREACHABLE: rate limits per instance, no shared cache, until it answers`
    }`,
    `  Metrics: ${
      !metrics.enabled
        ? 'off (METRICS_ENABLED=false)'
        : gw.metricsUrl
          ? `${gw.metricsUrl} (METRICS_PORT)`
          : metrics.onPublicPort === 'token'
            ? `${gw.url.replace(/\/graphql$/, '/metrics')} with "Authorization: Bearer <METRICS_TOKEN>"`
            : metrics.onPublicPort === 'open'
              ? `${gw.url.replace(/\/graphql$/, '/metrics')} (loopback only)`
              : 'not served on the public port: set METRICS_PORT (a listener of its own) or METRICS_TOKEN'
    }`,
  ];
  if (gw.demoKeys.length) {
    lines.push(
      '  Demo API keys (send as "Authorization: Bearer <key>"):',
      ...gw.demoKeys.map((k) => `    ${k.role.padEnd(9)} ${k.orgId.padEnd(14)} ${k.key}`),
      '',
      `  KEY=${gw.demoKeys[0]!.key}`,
      `  Try: curl -s ${gw.url} -H 'content-type: application/json' -H "authorization: Bearer $KEY" \\`,
      `         -d '{"query":"{ viewer { orgId role } traces(first: 3) { nodes { id model totalCostUsd } } }"}'`,
    );
  } else if (startup.activeApiKeys === 0) {
    const org = startup.orgIds[0];
    lines.push(
      '',
      '  No API key exists yet: every request is refused (UNAUTHENTICATED) until you create one:',
      org
        ? `    npx analytics-gateway keys create --org ${org} --name admin --role admin${startup.orgIds.length > 1 ? `   (orgs: ${list(startup.orgIds)})` : ''}`
        : '    no org exists either: npx analytics-gateway orgs create --id <org> --name <name>, then: npx analytics-gateway keys create --org <org> --name admin --role admin',
    );
  }
  const otlp = otlpBanner(gw);
  if (otlp.length) lines.push('', ...otlp);
  return `${lines.join('\n')}\n\n`;
}

/** The OTLP endpoint and the environment an OpenTelemetry SDK needs (with demo data: the demo INGEST key). */
function otlpBanner(gateway: Pick<RunningGateway, 'otlpUrl' | 'liveDemo' | 'demoKeys'>): string[] {
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
