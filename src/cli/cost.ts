import fs from 'node:fs';
import path from 'node:path';
import {
  GraphQLError,
  Kind,
  buildSchema,
  parse,
  validate,
  validateSchema,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { ConfigError, loadConfig, type Config } from '../config';
import type { Role } from '../db/schema';
import { createCostEstimators } from '../cost-estimators';
import { maxCostForAnyRole, maxCostForRole } from '../limits/charge';
import { CostRules } from '../limits/cost-rules';
import { placeholderVariables, priceOperation } from '../limits/pricing';
import { loadTypeDefs } from '../schema-sdl';
import { InputFileError, expandPatterns, graphqlSourcesOf, variablesFileOf } from './cost-files';

/**
 * `analytics-gateway cost 'ops/**\/*.graphql' [--budget 500] [--role viewer] [--json] [--schema file]`
 *
 * Prices every operation in the files with the server's own priceOperation (same SDL
 * directives, same analytics work model), prints operation / cost / budget / limit / verdict,
 * and exits 0 when all fit, 1 when any is over its budget or over what the server accepts for
 * one operation (MAX_COST_PER_OPERATION, capped by the role's burst), 2 when a document does not
 * parse or validate or the command itself is wrong. Fragments may live in any of the files.
 * Variables come from `<file>.variables.json` beside a file (`{ "OperationName": { ... } }` or
 * one object for all), else placeholders.
 */
export interface CostCliOptions {
  patterns: string[];
  budget?: number;
  role?: Role;
  json: boolean;
  schemaPath?: string;
}

export type CostVerdict = 'ok' | 'over budget' | 'over limit' | 'invalid';

export interface CostRow {
  operation: string;
  file: string;
  cost: number | null;
  /** --budget (null without it). */
  budget: number | null;
  /** The most the server accepts for one operation (for --role, else for the most generous role). */
  limit: number;
  verdict: CostVerdict;
  /** `file:line:column: message` for documents that do not parse or validate. */
  errors?: string[];
}

/** Bad usage, an unreadable schema or file: exit 2 with this one line. */
export class CostUsageError extends Error {}

export const USAGE = `Usage: analytics-gateway cost <files, folders or globs…> [--budget N] [--role admin|developer|viewer|billing] [--json] [--schema path]

Prices each GraphQL operation against the gateway's schema exactly as the server does.
Files: .graphql/.gql documents, and gql/graphql tagged templates (or /* GraphQL */ strings) in
.ts/.tsx/.js/.jsx/.mts/.cts/.mjs/.cjs sources. Quote globs: 'src/**/*.{graphql,ts}' is not
expanded by the CLI, 'src/**/*.ts' is.
  --budget N     fail (exit 1) when an operation costs more than N points
  --role R       price against what one operation may cost for role R
                 (default: the server's per-operation maximum, MAX_COST_PER_OPERATION)
  --json         machine-readable output
  --schema PATH  an SDL file or a folder of .graphql files (default: this gateway's schema)
  -h, --help     this text
Exit codes: 0 all within budget and limit, 1 any over, 2 invalid document or bad usage.`;

const ROLES: readonly Role[] = ['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING'];

export function parseCostArgs(argv: readonly string[]): CostCliOptions | 'help' {
  const opts: CostCliOptions = { patterns: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new CostUsageError(`${name} needs a value`);
      return v;
    };
    if (name === '--budget') {
      const raw = value();
      const n = Number(raw);
      if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(n)) throw new CostUsageError(`--budget must be a non-negative number, got "${raw}"`);
      opts.budget = n;
    } else if (name === '--role') {
      const raw = value();
      const r = raw.toUpperCase() as Role;
      if (!ROLES.includes(r)) throw new CostUsageError(`--role must be one of admin, developer, viewer, billing; got "${raw}"`);
      opts.role = r;
    } else if (name === '--json') opts.json = true;
    else if (name === '--schema') opts.schemaPath = value();
    else if (arg.startsWith('-') && arg !== '-') throw new CostUsageError(`unknown option ${name}`);
    else opts.patterns.push(arg);
  }
  if (!opts.patterns.length) throw new CostUsageError('give at least one file, folder or glob of GraphQL operations');
  return opts;
}

/** The SDL the bundle (npm run build → dist/analytics-gateway-cost.cjs) was built with. */
declare const __GATEWAY_SDL__: string | undefined;
const embeddedSdl = (): string | undefined => (typeof __GATEWAY_SDL__ === 'string' ? __GATEWAY_SDL__ : undefined);

export function loadCliSchema(schemaPath?: string): GraphQLSchema {
  if (!schemaPath) return buildSchema(embeddedSdl() ?? loadTypeDefs());
  let sdl: string;
  try {
    sdl = fs.statSync(schemaPath).isDirectory() ? loadTypeDefs(schemaPath) : fs.readFileSync(schemaPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CostUsageError(`--schema ${schemaPath}: ${code === 'ENOENT' ? 'no such file or folder' : `cannot read it (${code ?? (err as Error).message})`}`);
  }
  let schema: GraphQLSchema;
  try {
    schema = buildSchema(sdl);
  } catch (err) {
    const detail = err instanceof GraphQLError ? describeGraphQLError(err, schemaPath) : (err as Error).message;
    throw new CostUsageError(`--schema ${schemaPath} is not a usable schema: ${detail}`);
  }
  // buildSchema does not check the type system (a lone base.graphql has an empty Query).
  const problems = validateSchema(schema);
  if (problems.length) {
    const shown = problems.slice(0, 3).map((p) => p.message.split('\n')[0]!.replace(/\.$/, '')).join('; ');
    throw new CostUsageError(`--schema ${schemaPath} is not a usable schema: ${shown}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`);
  }
  return schema;
}

/**
 * `file:line:column: message`, in the file's own coordinates: the Source of an extracted
 * template carries where it starts in its file (its first line is shifted by the column).
 */
export function describeGraphQLError(err: GraphQLError, fallbackFile?: string, cwd = process.cwd()): string {
  const message = err.message.split('\n')[0]!;
  const source = err.source ?? err.nodes?.[0]?.loc?.source;
  const loc = err.locations?.[0];
  const file = source?.name && source.name !== 'GraphQL request' ? source.name : fallbackFile;
  if (!file) return message;
  const where = path.relative(cwd, path.resolve(cwd, file)) || file;
  if (!loc || !source) return `${where}: ${message}`;
  const line = loc.line + source.locationOffset.line - 1;
  const column = loc.line === 1 ? loc.column + source.locationOffset.column - 1 : loc.column;
  return `${where}:${line}:${column}: ${message}`;
}

function variablesFor(file: string, operationName: string): Record<string, unknown> {
  const sidecar = variablesFileOf(file);
  if (!fs.existsSync(sidecar)) return {};
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(sidecar, 'utf8'));
  } catch (err) {
    throw new Error(`${path.relative(process.cwd(), sidecar)}: not valid JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${path.relative(process.cwd(), sidecar)}: must be a JSON object`);
  const own = (json as Record<string, unknown>)[operationName];
  return own && typeof own === 'object' ? (own as Record<string, unknown>) : (json as Record<string, unknown>);
}

/** Fragments an operation uses, transitively. */
function fragmentsUsedBy(op: OperationDefinitionNode, all: Map<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const visitNode = (node: OperationDefinitionNode | FragmentDefinitionNode) =>
    visit(node, {
      FragmentSpread(s) {
        const f = all.get(s.name.value);
        if (f && !used.has(f.name.value)) {
          used.set(f.name.value, f);
          visitNode(f);
        }
      },
    });
  visitNode(op);
  return [...used.values()];
}

const errorText = (err: unknown, file: string): string => (err instanceof GraphQLError ? describeGraphQLError(err, file) : `${path.relative(process.cwd(), file)}: ${(err as Error).message.split('\n')[0]}`);

export function priceFiles(opts: CostCliOptions, config: Config = loadConfig()): CostRow[] {
  const schema = loadCliSchema(opts.schemaPath);
  const rules = new CostRules(schema, createCostEstimators(config));
  const files = expandPatterns(opts.patterns);
  // The server refuses anything above this for the role (for every role without --role).
  const limit = opts.role ? maxCostForRole(config, opts.role) : maxCostForAnyRole(config);
  const budget = opts.budget ?? null;
  const rows: CostRow[] = [];
  const docs: { file: string; doc: DocumentNode }[] = [];
  for (const file of files) {
    let sources;
    try {
      sources = graphqlSourcesOf(file);
    } catch (err) {
      if (err instanceof InputFileError) throw err;
      // A source file that does not parse as JavaScript/TypeScript.
      rows.push({ operation: '-', file, cost: null, budget, limit, verdict: 'invalid', errors: [errorText(err, file)] });
      continue;
    }
    for (const source of sources) {
      try {
        docs.push({ file, doc: parse(source) });
      } catch (err) {
        rows.push({ operation: '-', file, cost: null, budget, limit, verdict: 'invalid', errors: [errorText(err, file)] });
      }
    }
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const { doc } of docs) for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

  for (const { file, doc } of docs) {
    for (const op of doc.definitions) {
      if (op.kind !== Kind.OPERATION_DEFINITION) continue;
      const name = op.name?.value ?? `${path.basename(file)} (anonymous)`;
      const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [op, ...fragmentsUsedBy(op, fragments)] };
      const errors = validate(schema, document);
      if (errors.length) {
        rows.push({ operation: name, file, cost: null, budget, limit, verdict: 'invalid', errors: errors.map((e) => describeGraphQLError(e, file)) });
        continue;
      }
      try {
        const variables = placeholderVariables(schema, op, variablesFor(file, op.name?.value ?? ''));
        const { cost } = priceOperation(rules, { document, operationName: op.name?.value, variables });
        const verdict: CostVerdict = cost > limit ? 'over limit' : budget !== null && cost > budget ? 'over budget' : 'ok';
        rows.push({ operation: name, file, cost, budget, limit, verdict });
      } catch (err) {
        rows.push({ operation: name, file, cost: null, budget, limit, verdict: 'invalid', errors: [errorText(err, file)] });
      }
    }
  }
  return rows;
}

export function formatTable(rows: readonly CostRow[], cwd = process.cwd()): string {
  const num = (n: number | null) => (n === null ? '-' : String(n));
  const cells = rows.map((r) => [r.operation, path.relative(cwd, r.file), num(r.cost), num(r.budget), String(r.limit), r.verdict]);
  const head = ['operation', 'file', 'cost', 'budget', 'limit', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const numeric = new Set([2, 3, 4]);
  const line = (c: string[]) => c.map((v, i) => (numeric.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  for (const r of rows) for (const e of r.errors ?? []) out.push(`  ${e}`);
  const over = rows.filter((r) => r.verdict === 'over limit');
  if (over.length) out.push(`${over.length} operation(s) over the limit: the server refuses them with COST_LIMIT_EXCEEDED (MAX_COST_PER_OPERATION, capped by the role's burst).`);
  return out.join('\n');
}

export function exitCodeFor(rows: readonly CostRow[]): number {
  if (rows.some((r) => r.verdict === 'invalid')) return 2;
  if (rows.some((r) => r.verdict === 'over budget' || r.verdict === 'over limit')) return 1;
  return 0;
}

export interface CostCliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env?: NodeJS.ProcessEnv;
}

const stdio: CostCliIo = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') };

/** Never throws: every failure is an exit code and one line on stderr (1 is kept for "over"). */
export function runCostCli(argv: readonly string[], io: CostCliIo = stdio): number {
  try {
    const opts = parseCostArgs(argv);
    if (opts === 'help') {
      io.out(USAGE);
      return 0;
    }
    const rows = priceFiles(opts, loadConfig(io.env ?? process.env));
    if (!rows.length) {
      io.err(`cost: no GraphQL operations found in ${opts.patterns.join(' ')}`);
      return 2;
    }
    io.out(opts.json ? JSON.stringify({ rows, exitCode: exitCodeFor(rows) }, null, 2) : formatTable(rows));
    return exitCodeFor(rows);
  } catch (err) {
    if (err instanceof CostUsageError || err instanceof InputFileError) {
      io.err(`cost: ${err.message} (see analytics-gateway cost --help)`);
    } else if (err instanceof ConfigError) {
      io.err(`cost: ${err.problems.join('; ')}`);
    } else {
      io.err(`cost: could not price the operations: ${err instanceof Error ? err.message : String(err)}`);
    }
    return 2;
  }
}
