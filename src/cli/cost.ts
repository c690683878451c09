import fs from 'node:fs';
import path from 'node:path';
import {
  Kind,
  buildSchema,
  parse,
  validate,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { loadConfig, type Config } from '../config';
import type { Role } from '../db/schema';
import { analyticsSettingsFrom } from '../limits/analytics-work';
import { CostRules } from '../limits/cost-rules';
import { placeholderVariables, priceOperation } from '../limits/pricing';
import { loadTypeDefs } from '../schema';
import { expandPatterns } from './cost-files';

/**
 * `analytics-gateway cost 'ops/**\/*.graphql' --budget 500 [--role viewer] [--json] [--schema file]`
 *
 * Prices every operation in the files with the server's own priceOperation (same SDL
 * directives, same analytics work model), prints operation / cost / budget / verdict, and exits
 * 0 when all fit, 1 when any is over budget, 2 when a document does not parse or validate.
 * Fragments may live in any of the files. Variables come from `<file>.variables.json` beside a
 * file (`{ "OperationName": { ... } }` or one object for all), else placeholders.
 */
export interface CostCliOptions {
  patterns: string[];
  budget?: number;
  role?: Role;
  json: boolean;
  schemaPath?: string;
}

export interface CostRow {
  operation: string;
  file: string;
  cost: number | null;
  budget: number | null;
  verdict: 'ok' | 'over budget' | 'invalid';
  errors?: string[];
}

export const USAGE = `Usage: analytics-gateway cost <files or globs…> [--budget N] [--role admin|developer|viewer|billing] [--json] [--schema path]

Prices each GraphQL operation against the gateway's schema exactly as the server does.
  --budget N     fail (exit 1) when an operation costs more than N points
  --role R       also fail above what one operation may cost for role R
  --json         machine-readable output
  --schema PATH  an SDL file or a folder of .graphql files (default: this gateway's schema)
Exit codes: 0 all within budget, 1 over budget, 2 invalid document or usage.`;

export function parseCostArgs(argv: readonly string[]): CostCliOptions {
  const opts: CostCliOptions = { patterns: [], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--budget') {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 0) throw new Error('--budget must be a non-negative number');
      opts.budget = n;
    } else if (a === '--role') {
      const r = value().toUpperCase();
      if (!['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING', 'INGEST'].includes(r)) throw new Error(`unknown role ${r}`);
      opts.role = r as Role;
    } else if (a === '--json') opts.json = true;
    else if (a === '--schema') opts.schemaPath = value();
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else opts.patterns.push(a);
  }
  if (!opts.patterns.length) throw new Error('give at least one file or glob');
  return opts;
}

export function loadCliSchema(schemaPath?: string): GraphQLSchema {
  if (!schemaPath) return buildSchema(loadTypeDefs());
  const stat = fs.statSync(schemaPath);
  return buildSchema(stat.isDirectory() ? loadTypeDefs(schemaPath) : fs.readFileSync(schemaPath, 'utf8'));
}

function variablesFor(file: string, operationName: string): Record<string, unknown> {
  const sidecar = file.replace(/\.(graphql|gql)$/, '.variables.json');
  if (!fs.existsSync(sidecar)) return {};
  const json = JSON.parse(fs.readFileSync(sidecar, 'utf8')) as Record<string, unknown>;
  const own = json[operationName];
  return own && typeof own === 'object' ? (own as Record<string, unknown>) : json;
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

export function priceFiles(opts: CostCliOptions, config: Config = loadConfig()): CostRow[] {
  const schema = loadCliSchema(opts.schemaPath);
  const rules = new CostRules(schema, analyticsSettingsFrom(config));
  const files = expandPatterns(opts.patterns);
  const rows: CostRow[] = [];
  const docs: { file: string; doc: DocumentNode }[] = [];
  for (const file of files) {
    try {
      docs.push({ file, doc: parse(fs.readFileSync(file, 'utf8')) });
    } catch (err) {
      rows.push({ operation: '-', file, cost: null, budget: opts.budget ?? null, verdict: 'invalid', errors: [(err as Error).message] });
    }
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const { doc } of docs) for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const roleMax = opts.role ? Math.min(config.limits.maxCostPerOperation, config.limits.budgets[opts.role].burst) : undefined;
  const budget = opts.budget !== undefined && roleMax !== undefined ? Math.min(opts.budget, roleMax) : (opts.budget ?? roleMax ?? null);

  for (const { file, doc } of docs) {
    for (const op of doc.definitions) {
      if (op.kind !== Kind.OPERATION_DEFINITION) continue;
      const name = op.name?.value ?? `${path.basename(file)} (anonymous)`;
      const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [op, ...fragmentsUsedBy(op, fragments)] };
      const errors = validate(schema, document);
      if (errors.length) {
        rows.push({ operation: name, file, cost: null, budget, verdict: 'invalid', errors: errors.map((e) => e.message) });
        continue;
      }
      try {
        const variables = placeholderVariables(schema, op, variablesFor(file, op.name?.value ?? ''));
        const { cost } = priceOperation(rules, { document, operationName: op.name?.value, variables });
        rows.push({ operation: name, file, cost, budget, verdict: budget !== null && cost > budget ? 'over budget' : 'ok' });
      } catch (err) {
        rows.push({ operation: name, file, cost: null, budget, verdict: 'invalid', errors: [(err as Error).message] });
      }
    }
  }
  return rows;
}

export function formatTable(rows: readonly CostRow[], cwd = process.cwd()): string {
  const cells = rows.map((r) => [r.operation, path.relative(cwd, r.file), r.cost === null ? '-' : String(r.cost), r.budget === null ? '-' : String(r.budget), r.verdict]);
  const head = ['operation', 'file', 'cost', 'budget', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 2 || i === 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  for (const r of rows) for (const e of r.errors ?? []) out.push(`  ${r.operation}: ${e}`);
  return out.join('\n');
}

export function exitCodeFor(rows: readonly CostRow[]): number {
  if (rows.some((r) => r.verdict === 'invalid')) return 2;
  if (rows.some((r) => r.verdict === 'over budget')) return 1;
  return 0;
}

export function runCostCli(argv: readonly string[], io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }): number {
  let opts: CostCliOptions;
  try {
    opts = parseCostArgs(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const rows = priceFiles(opts);
  if (!rows.length) {
    io.err(`no operations found in ${opts.patterns.join(' ')}`);
    return 2;
  }
  io.out(opts.json ? JSON.stringify({ rows, exitCode: exitCodeFor(rows) }, null, 2) : formatTable(rows));
  return exitCodeFor(rows);
}
