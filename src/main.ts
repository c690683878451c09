// First: tracing must be running before http and pg are loaded (they are patched as they load).
import './telemetry/register';
import { ConfigError, loadConfig, type Config } from './config';
import { shutdownTracing } from './telemetry/tracing';
import { createLogger } from './logger';
import type { Logger } from 'pino';
import { startGateway, type RunningGateway } from './app';
import { IDLE_GRACE_MS } from './http/drain';
import { startupBanner, startupRefusal } from './startup-banner';
import { PortUnavailableError } from './http/port';
import { DataDirInUseError } from './db/embedded/data-dir-lock';

/** The configuration, or a one-paragraph refusal on stderr and exit 1. */
function configOrExit(): Config {
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
  const refusal = startupRefusal(config);
  if (refusal) {
    process.stderr.write(`Refusing to start: ${refusal}\n`);
    process.exit(1);
  }
  return config;
}

async function startOrExit(config: Config, logger: Logger): Promise<RunningGateway> {
  try {
    return await startGateway(config, logger);
  } catch (err) {
    // What an operator fixes by hand gets one line, not a stack trace.
    if (err instanceof PortUnavailableError || err instanceof DataDirInUseError) {
      process.stderr.write(`Failed to start: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

function reportStarted(config: Config, logger: Logger, gateway: RunningGateway, startupMs: number): void {
  const { startup } = gateway;
  logger.info(
    {
      url: gateway.url,
      playground: gateway.playgroundUrl,
      metrics: gateway.metricsUrl,
      mode: gateway.services.database.mode,
      migrations: startup.migrations.applied.length,
      migrationsApplied: startup.migrations.appliedNow,
      apiKeys: startup.activeApiKeys,
      redis: startup.redis,
      startupMs,
    },
    'gateway listening',
  );
  if (startup.activeApiKeys === 0) logger.warn({ orgs: startup.orgIds }, 'no API key exists yet: every request is refused until one is created (npx analytics-gateway keys create --org <org> --name admin --role admin)');
  // Plain text for a person at a terminal; a production log stream gets the JSON lines above.
  if (!config.isProduction || process.stdout.isTTY) process.stdout.write(startupBanner(config, gateway));
}

/** SIGTERM/SIGINT: drain and stop once, flush spans, exit; a stop that hangs is cut. */
function stopOnSignals(config: Config, logger: Logger, gateway: RunningGateway): void {
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

/** config → logger → startGateway (app.ts composes the rest) → banner → signal handling. */
async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config);
  const started = Date.now();
  const gateway = await startOrExit(config, logger);
  reportStarted(config, logger, gateway, Date.now() - started);
  stopOnSignals(config, logger, gateway);
}

main().catch((err) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
