import type { Config } from '../config';
import type { DatabaseHandle } from '../db/database';
import { createOrg } from '../modules/orgs/orgs.service';
import { findOrgsWithCounts } from '../modules/orgs/orgs.repository';
import { UsageError } from './keys';
import { defaultIo, runOperatorCommand, type CliIo } from './operator-cli';

/**
 * `analytics-gateway orgs create|list`: tenants from the operator's shell (no API key can
 * create an org). Then `keys create --org … --role admin` gives the org its first ADMIN key,
 * which creates projects (createProject) and further keys through GraphQL.
 */
export const ORGS_USAGE = `Usage:
  analytics-gateway orgs create --id ORG --name NAME [--projects id[:name],id2[:name2]] [--json]
  analytics-gateway orgs list [--json]

Works on DATABASE_URL, or without it on the embedded database in DATA_DIR (default ./.data),
like the keys commands (one process at a time on an embedded DATA_DIR).
  --id        3–64 characters: lower-case letters, digits, _ and -
  --projects  first projects of the org, created with it (ids like --id; name defaults to the id)
Next: analytics-gateway keys create --org ORG --name admin --role admin
Exit codes: 0 done, 1 refused (bad input, id taken, database busy), 2 bad usage.`;

export interface OrgsCliArgs {
  command: 'create' | 'list';
  id?: string;
  name?: string;
  projects: { id: string; name: string }[];
  json: boolean;
}

export function parseOrgsArgs(argv: readonly string[]): OrgsCliArgs {
  const [command, ...rest] = argv;
  if (command !== 'create' && command !== 'list') throw new UsageError(command ? `Unknown orgs command: ${command}` : 'Missing orgs command');
  const out: OrgsCliArgs = { command, projects: [], json: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--id') out.id = value();
    else if (a === '--name') out.name = value();
    else if (a === '--projects') {
      out.projects = value()
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => {
          const [id, ...name] = p.split(':');
          return { id: id!.trim(), name: name.join(':').trim() || id!.trim() };
        });
    } else if (a === '--json') out.json = true;
    else throw new UsageError(`Unknown option or argument ${a}`);
  }
  if (command === 'create' && (!out.id || !out.name)) throw new UsageError('create needs --id and --name');
  return out;
}

export function runOrgsCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  return runOperatorCommand(
    { name: 'orgs', usage: ORGS_USAGE, parse: parseOrgsArgs, inUseHint: ': stop the gateway first, or use DATABASE_URL.', table: 'orgs', run: runOrgs },
    argv,
    io,
  );
}

async function runOrgs(args: OrgsCliArgs, database: DatabaseHandle, _config: Config, io: CliIo): Promise<number> {
  if (args.command === 'create') {
    const { org, projects } = await createOrg(database.db, { id: args.id!, name: args.name!, projects: args.projects });
    if (args.json) io.stdout(`${JSON.stringify({ id: org.id, name: org.name, createdAt: org.created_at.toISOString(), projects })}\n`);
    else {
      io.stdout(
        [
          `Created org ${org.id} (${org.name})${projects.length ? ` with projects ${projects.join(', ')}` : ''}`,
          `Next: npx analytics-gateway keys create --org ${org.id} --name admin --role admin`,
          '',
        ].join('\n'),
      );
    }
  } else {
    const rows = await findOrgsWithCounts(database.db);
    if (args.json) io.stdout(`${JSON.stringify(rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at.toISOString(), projects: r.projects, activeKeys: r.keys })))}\n`);
    else {
      const cells = [['id', 'name', 'projects', 'active keys', 'created'], ...rows.map((r) => [r.id, r.name, String(r.projects), String(r.keys), r.created_at.toISOString().slice(0, 16).replace('T', ' ')])];
      const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
      const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
      io.stdout(rows.length ? `${[line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')}\n` : '(no orgs)\n');
    }
  }
  return 0;
}
