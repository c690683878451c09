import type { Config } from '../config';
import type { DatabaseHandle } from '../db/database';
import { defaultIo, runOperatorCommand, type CliIo } from './operator-cli';
import { ROLES } from '../auth/permissions';
import type { Scope } from '../auth/viewer';
import { findOrgIds } from '../modules/api-keys/api-keys.repository';
import { issueApiKey, listApiKeys, revokeApiKey } from '../modules/api-keys/api-keys.service';
import type { ApiKeyRow } from '../modules/api-keys/api-keys.repository';

/**
 * `analytics-gateway keys create|list|revoke`: key management from the operator's shell, with
 * the same rules as the createApiKey / revokeApiKey / apiKeys fields, against DATABASE_URL or the
 * embedded DATA_DIR. The operator acts for one org (`--org`) with org-wide rights.
 */
export const KEYS_USAGE = `Usage:
  analytics-gateway keys create --org ORG --name NAME --role ${ROLES.join('|')} [--projects P1,P2] [--json]
  analytics-gateway keys list   --org ORG [--all] [--json]
  analytics-gateway keys revoke KEY_ID --org ORG [--json]

Works on DATABASE_URL, or without it on the embedded database in DATA_DIR (default ./.data).
The embedded database allows one process at a time: while a gateway runs on DATA_DIR, manage
keys through it (the playground, or the createApiKey / revokeApiKey mutations with an ADMIN key).
  --projects  limit the key to these projects of the org (default: every project)
  --all       list revoked keys too
  --json      machine-readable output
Exit codes: 0 done, 1 refused (bad input, unknown key or org, database busy), 2 bad usage.`;

export interface KeysCliArgs {
  command: 'create' | 'list' | 'revoke';
  org: string;
  name?: string;
  role?: string;
  projects?: string[];
  id?: string;
  all: boolean;
  json: boolean;
}

export class UsageError extends Error {}

export function parseKeysArgs(argv: readonly string[]): KeysCliArgs {
  const [command, ...rest] = argv;
  if (command !== 'create' && command !== 'list' && command !== 'revoke') throw new UsageError(command ? `Unknown keys command: ${command}` : 'Missing keys command');
  const out: Partial<KeysCliArgs> & { all: boolean; json: boolean } = { command, all: false, json: false };
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--org') out.org = value();
    else if (a === '--name') out.name = value();
    else if (a === '--role') out.role = value();
    // An explicit empty value stays empty: the service refuses it instead of widening the key.
    else if (a === '--projects') out.projects = value().split(',').map((p) => p.trim()).filter((p, j, all) => p || all.length === 1);
    else if (a === '--all') out.all = true;
    else if (a === '--json') out.json = true;
    else if (a.startsWith('--')) throw new UsageError(`Unknown option ${a}`);
    else positional.push(a);
  }
  if (!out.org) throw new UsageError('--org is required');
  if (command === 'create' && (!out.name || !out.role)) throw new UsageError('create needs --name and --role');
  if (command === 'revoke') {
    if (positional.length !== 1) throw new UsageError('revoke needs exactly one key id');
    out.id = positional[0];
  } else if (positional.length) {
    throw new UsageError(`Unexpected argument ${positional[0]}`);
  }
  return out as KeysCliArgs;
}

export type { CliIo };

export function runKeysCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  return runOperatorCommand(
    {
      name: 'keys',
      usage: KEYS_USAGE,
      parse: parseKeysArgs,
      inUseHint:
        '. Manage keys through the running gateway instead: the playground (/playground) or the createApiKey / revokeApiKey / apiKeys fields with an ADMIN key.',
      table: 'api_keys',
      run: runKeys,
    },
    argv,
    io,
  );
}

async function runKeys(args: KeysCliArgs, database: DatabaseHandle, config: Config, io: CliIo): Promise<number> {
  const orgs = await findOrgIds(database.db);
  if (!orgs.includes(args.org)) {
    io.stderr(`Unknown org ${args.org}. Orgs in this database: ${orgs.join(', ') || '(none)'}\n`);
    return 1;
  }
  const operator: Scope = { orgId: args.org, projectIds: null };
  const ctx = { services: { database }, scope: operator };
  if (args.command === 'create') {
    const { key, apiKey } = await issueApiKey(ctx, { name: args.name!, role: args.role!, projectIds: args.projects ?? null });
    if (args.json) io.stdout(`${JSON.stringify({ ...jsonOf(apiKey), key })}\n`);
    else {
      io.stdout(
        [
          `Created API key ${apiKey.id} in ${apiKey.org_id}`,
          `  name      ${apiKey.name}`,
          `  role      ${apiKey.role}`,
          `  projects  ${apiKey.project_ids ? apiKey.project_ids.join(', ') : 'every project of the org'}`,
          `  key       ${key}`,
          '',
          'The key is shown this once (only its sha256 is stored): hand it over now. Send it as "Authorization: Bearer <key>".',
          '',
        ].join('\n'),
      );
    }
  } else if (args.command === 'list') {
    const rows = await listApiKeys(ctx, { includeRevoked: args.all });
    io.stdout(args.json ? `${JSON.stringify(rows.map(jsonOf))}\n` : `${table(rows)}\n`);
  } else {
    const { apiKey } = await revokeApiKey(ctx, args.id!);
    const ttl = Math.round(config.auth.cacheTtlMs / 1000);
    if (args.json) io.stdout(`${JSON.stringify(jsonOf(apiKey))}\n`);
    else io.stdout(`Revoked API key ${apiKey.id} (${apiKey.name}) at ${apiKey.revoked_at?.toISOString()}: running gateways refuse it within AUTH_CACHE_TTL_MS (${ttl} s).\n`);
  }
  return 0;
}

function jsonOf(r: ApiKeyRow) {
  return {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    role: r.role,
    projectIds: r.project_ids,
    keyPrefix: r.key_prefix,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
  };
}

function table(rows: ApiKeyRow[]): string {
  if (!rows.length) return '(no keys)';
  const day = (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace('T', ' ') : '—');
  const cells = [
    ['id', 'name', 'role', 'projects', 'prefix', 'created', 'last used', 'status'],
    ...rows.map((r) => [r.id, r.name, r.role, r.project_ids ? r.project_ids.join(',') : 'all', r.key_prefix, day(r.created_at), day(r.last_used_at), r.revoked_at ? `revoked ${day(r.revoked_at)}` : 'active']),
  ];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
