import fs from 'node:fs';
import path from 'node:path';

/**
 * The SDL files, without the resolvers: what the cost CLI needs (and all its bundle embeds),
 * so that pricing an operation does not load the server.
 */
export const SCHEMA_DIR = path.resolve(__dirname, '..', 'schema');

/** The SDL files of a folder, base first: the contract lives there, not in code. */
export function loadTypeDefs(dir = SCHEMA_DIR): string {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)));
  return files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
}
