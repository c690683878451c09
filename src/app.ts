import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { AppServices } from './context';
import { openDatabase } from './db/database';
import { migrateToLatest } from './db/migrator';
import { startRollupMaintenance } from './db/rollup-refresh';
import { ensureDemoData, type DemoKey } from './demo/demo-bootstrap';
import { createGatewayServer, type GatewayServer } from './server';

export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  readonly services: AppServices;
  readonly server: GatewayServer;
  readonly demoKeys: DemoKey[];
  stop(): Promise<void>;
}

/** config → db → migrations → (demo data) → maintenance → HTTP. main.ts and e2e tests share it. */
export async function startGateway(config: Config, logger: Logger, opts: { inMemory?: boolean } = {}): Promise<RunningGateway> {
  const database = await openDatabase(config, { inMemory: opts.inMemory });
  try {
    await migrateToLatest(database);
    let demoKeys: DemoKey[] = [];
    if (database.mode === 'embedded' && config.demo.enabled) {
      demoKeys = await ensureDemoData(database, {
        dataDir: opts.inMemory ? null : config.dataDir,
        traces: config.demo.traces,
        days: config.demo.days,
        logger,
      });
    }
    const maintenance = startRollupMaintenance(database, {
      intervalMs: config.database.rollupRefreshIntervalMs,
      retentionDays: config.database.retentionDays,
      logger,
    });
    const services: AppServices = { config, database, logger };
    const server = await createGatewayServer(services);
    await new Promise<void>((resolve, reject) => {
      server.httpServer.once('error', reject);
      server.httpServer.listen(config.port, config.host, () => resolve());
    });
    const port = (server.httpServer.address() as AddressInfo).port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    let stopped = false;
    return {
      url: `http://${host}:${port}/graphql`,
      port,
      services,
      server,
      demoKeys,
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.shutdown(config.http.shutdownTimeoutMs);
        logger.debug('HTTP server closed');
        await maintenance.stop();
        await database.close();
        logger.debug('database closed');
      },
    };
  } catch (err) {
    await database.close().catch(() => undefined);
    throw err;
  }
}
