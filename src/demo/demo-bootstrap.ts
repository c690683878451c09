import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/database';
import type { Role } from '../db/schema';
import { createApiKey } from '../auth/api-keys';
import { refreshRollups } from '../db/rollup-refresh';
import { seedDatabase } from '../../db/seed/loader';

export interface DemoKey {
  orgId: string;
  role: Role;
  key: string;
}

// INGEST last: the key an instrumented application (and the live demo generator) sends spans with.
const ROLES: Role[] = ['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING', 'INGEST'];

/**
 * First start of the embedded default: generate a small data set and demo API keys. The keys
 * are kept (plain text, demo only) in DATA_DIR/demo-keys.json so later starts can print them;
 * the database itself stores only their hashes.
 */
export async function ensureDemoData(
  database: DatabaseHandle,
  opts: { dataDir: string | null; traces: number; days: number; logger: Logger },
): Promise<DemoKey[]> {
  const keysFile = opts.dataDir ? path.resolve(opts.dataDir, 'demo-keys.json') : null;
  const existing = await database.db.selectFrom('orgs').select('id').orderBy('id').execute();
  if (existing.length === 0) {
    const started = Date.now();
    opts.logger.info({ traces: opts.traces, days: opts.days }, 'empty database: generating demo data');
    const result = await seedDatabase(database, { traces: opts.traces, days: opts.days, orgs: 3, seed: 42 });
    opts.logger.debug({ ...result, ms: Date.now() - started }, 'demo rows written: building rollups');
    await refreshRollups(database);
    opts.logger.info({ ...result, ms: Date.now() - started }, 'demo data ready');
  }
  if (keysFile && fs.existsSync(keysFile)) {
    return JSON.parse(fs.readFileSync(keysFile, 'utf8')) as DemoKey[];
  }
  const orgs = await database.db.selectFrom('orgs').select('id').orderBy('id').execute();
  const keys: DemoKey[] = [];
  const [first, second] = orgs;
  if (first) {
    for (const role of ROLES) {
      const { key } = await createApiKey(database.db, { orgId: first.id, name: `demo-${role.toLowerCase()}`, role });
      keys.push({ orgId: first.id, role, key });
    }
  }
  if (second) {
    const { key } = await createApiKey(database.db, { orgId: second.id, name: 'demo-developer', role: 'DEVELOPER' });
    keys.push({ orgId: second.id, role: 'DEVELOPER', key });
  }
  if (keysFile) {
    fs.mkdirSync(path.dirname(keysFile), { recursive: true });
    fs.writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  }
  return keys;
}
