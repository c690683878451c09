import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/database';
import { migrateAllDown, migrateToLatest } from '../db/migrator';

/** `npm run db:migrate` (add `-- --down` to undo every migration). Idempotent. */
async function run(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase(config);
  try {
    const down = process.argv.includes('--down');
    const results = down ? await migrateAllDown(database) : await migrateToLatest(database);
    process.stdout.write(`storage mode: ${database.mode}\n`);
    if (!results.length) process.stdout.write('nothing to do: the schema is up to date\n');
    for (const r of results) process.stdout.write(`${r.direction.toLowerCase()} ${r.migrationName}: ${r.status}\n`);
  } finally {
    await database.close();
  }
}

run().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).stack}\n`);
  process.exit(1);
});
