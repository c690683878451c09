import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCostCli, type CostRow } from '../../../src/cli/cost';

const ROOT = path.resolve(__dirname, '../../..');
const EXAMPLES = path.join(ROOT, 'examples/operations');

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCostCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}
const rowsOf = (r: { stdout: string }) => (JSON.parse(r.stdout) as { rows: CostRow[] }).rows;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

describe('cost CLI: usage and schema errors exit 2 with one line', () => {
  it('--help prints the usage on stdout and exits 0', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: analytics-gateway cost/);
    expect(run(['-h']).code).toBe(0);
  });

  it.each([
    [['ops.graphql', '--schema', 'does-not-exist.graphql'], /^cost: --schema does-not-exist.graphql: no such file or folder/],
    [[EXAMPLES, '--schema', path.join(ROOT, 'schema/base.graphql')], /is not a usable schema: Type Query must define one or more fields/],
    [[EXAMPLES, '--bogus'], /^cost: unknown option --bogus/],
    [[EXAMPLES, '--budget'], /^cost: --budget needs a value/],
    [[EXAMPLES, '--budget', 'lots'], /^cost: --budget must be a non-negative number/],
    [[EXAMPLES, '--role', 'owner'], /^cost: --role must be one of/],
    [[], /^cost: give at least one file/],
    [['no/such/file.graphql'], /^cost: no\/such\/file.graphql: no such file or folder/],
  ])('%j', (argv, message) => {
    const r = run(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad environment variable is a usage error too, not a stack trace', () => {
    const r = run([EXAMPLES], { MAX_COST_PER_OPERATION: 'many' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cost: MAX_COST_PER_OPERATION: /);
  });
});

describe("cost CLI: the server's per-operation maximum applies by default", () => {
  // 15 pages of 1000 traces with content: 15 × (1 + 1000 × 5) points, above 50,000.
  const heavy = `query Heavy { ${Array.from({ length: 15 }, (_, i) => `t${i}: traces(first: 1000) { nodes { id input output } }`).join(' ')} }`;

  it('without --budget or --role an operation the server refuses is "over limit" and exits 1', () => {
    const file = write('heavy.graphql', heavy);
    const r = run([file, '--json']);
    expect(r.code).toBe(1);
    const [row] = rowsOf(r);
    expect(row).toMatchObject({ operation: 'Heavy', budget: null, limit: 50_000, verdict: 'over limit' });
    expect(row!.cost).toBeGreaterThan(50_000);
    const table = run([file]);
    expect(table.stdout).toMatch(/Heavy .* over limit/);
    expect(table.stdout).toMatch(/COST_LIMIT_EXCEEDED/);
  });

  it('reads the limit as the server does: MAX_COST_PER_OPERATION, and the role burst with --role', () => {
    expect(rowsOf(run([EXAMPLES, '--json'], { MAX_COST_PER_OPERATION: '100' })).find((r) => r.operation === 'RecentTraces')).toMatchObject({ limit: 100, verdict: 'over limit' });
    const viewer = rowsOf(run([EXAMPLES, '--json', '--role', 'viewer'], { RATE_LIMIT_VIEWER_BURST: '1500' }));
    expect(new Set(viewer.map((r) => r.limit))).toEqual(new Set([1500]));
    const ok = run([EXAMPLES, '--json']);
    expect(ok.code).toBe(0);
    expect(rowsOf(ok).every((r) => r.verdict === 'ok' && r.limit === 50_000)).toBe(true);
  });

  it('--budget below the limit fails with "over budget"', () => {
    const r = run([EXAMPLES, '--budget', '20', '--json']);
    expect(r.code).toBe(1);
    const rows = rowsOf(r);
    expect(rows.find((x) => x.operation === 'RecentTraces')).toMatchObject({ budget: 20, verdict: 'over budget' });
    expect(rows.find((x) => x.operation === 'DashboardSpend')).toMatchObject({ verdict: 'ok' });
  });
});

describe('cost CLI: errors carry file:line:column', () => {
  it('a syntax error in a .graphql file', () => {
    const file = write('broken.graphql', '# a comment\nquery Broken {\n  viewer { role ]\n}\n');
    const r = run([file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`${path.relative(process.cwd(), file)}:3:17: Syntax Error: Expected Name, found "]".`);
  });

  it('a validation error points at the field', () => {
    const file = write('unknown.graphql', 'query Unknown {\n  viewer {\n    nope\n  }\n}\n');
    const r = run([file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`${path.relative(process.cwd(), file)}:3:5: Cannot query field "nope" on type "Viewer".`);
  });
});

describe('cost CLI: gql/graphql tagged templates in source files', () => {
  const ts = [
    "import { gql } from '@apollo/client';", // 1
    '', // 2
    'export const SUMMARY = gql`', // 3
    '  fragment Summary on Trace { id model totalCostUsd }', // 4
    '`;', // 5
    '', // 6
    'export const RECENT = gql`', // 7
    '  query Recent($first: Int = 10) {', // 8
    '    traces(first: $first) { nodes { ...Summary } }', // 9
    '  }', // 10
    '  ${SUMMARY}', // 11
    '`;', // 12
    "const who = graphql(`query Who { viewer { role } }`);", // 13: a graphql() call, as the client preset writes them
    'const me = /* GraphQL */ `query Me { viewer { orgId } }`;', // 14
    'const notGraphql = `query Nope { nope }`;', // 15
    'type T = { a: number };', // 16: TypeScript syntax must parse
  ].join('\n');

  it('extracts operations from .ts, resolving fragments across templates, and prices them like .graphql files', () => {
    const file = write('queries.ts', ts);
    const same = write('same.graphql', 'fragment Summary2 on Trace { id model totalCostUsd }\nquery Recent2($first: Int = 10) { traces(first: $first) { nodes { ...Summary2 } } }\n');
    const r = run([file, same, '--json']);
    expect(r.code).toBe(0);
    const rows = rowsOf(r);
    expect(rows.map((x) => x.operation).sort()).toEqual(['Me', 'Recent', 'Recent2', 'Who']);
    expect(rows.find((x) => x.operation === 'Recent')!.cost).toBe(rows.find((x) => x.operation === 'Recent2')!.cost);
  });

  it('.tsx, .js and .jsx files too, and a syntax error inside a template is reported at its place in the file', () => {
    const tsx = write('Panel.tsx', 'import { gql } from "graphql-tag";\nexport const Q = gql`query Panel { viewer { role } }`;\nexport const Panel = () => <div className="p">{1}</div>;\n');
    const js = write('list.js', 'const { gql } = require("@apollo/client");\nmodule.exports = gql`\n  query List {\n    traces(first: 5) { nodes { id } \n  }\n`;\n');
    const jsx = write('view.jsx', 'import gql from "graphql-tag";\nconst Q = gql`query View { viewer { orgId } }`;\nexport default () => <p/>;\n');
    const r = run([tsx, js, jsx, '--json']);
    expect(r.code).toBe(2);
    const rows = rowsOf(r);
    expect(rows.filter((x) => x.verdict === 'ok').map((x) => x.operation).sort()).toEqual(['Panel', 'View']);
    const invalid = rows.find((x) => x.verdict === 'invalid')!;
    expect(invalid.file).toBe(js);
    expect(invalid.errors).toEqual([`${path.relative(process.cwd(), js)}:6:1: Syntax Error: Expected Name, found <EOF>.`]);
  });

  it('an error on the first line of a template has the column in the file', () => {
    const file = write('inline.ts', 'import { gql } from "@apollo/client";\nexport const Q = gql`query Inline { viewer { nope } }`;\n');
    const r = run([file]);
    // `export const Q = gql\`` is 21 characters; "nope" starts 24 characters into the template.
    expect(r.stdout).toContain(`${path.relative(process.cwd(), file)}:2:46: Cannot query field "nope" on type "Viewer".`);
  });

  it('a folder takes its .graphql and source files; a source file without templates adds no row', () => {
    write('a.graphql', 'query A { viewer { role } }');
    write('b.ts', 'import { gql } from "@apollo/client";\nexport const B = gql`query B { viewer { role } }`;\n');
    write('c.ts', 'export const c = 1;\n');
    write('types.d.ts', 'export declare const d: string;\n');
    write('notes.md', '# not GraphQL');
    const r = run([dir, '--json']);
    expect(r.code).toBe(0);
    expect(rowsOf(r).map((x) => x.operation)).toEqual(['A', 'B']);
  });
});

describe('pricing does not load the traces module', () => {
  it('prices with the same largest page the traces service serves', async () => {
    const shared = await import('../../../src/shared/page-size');
    const traces = await import('../../../src/modules/traces/traces.service');
    expect(shared.MAX_PAGE_SIZE).toBe(traces.MAX_PAGE_SIZE);
  });
});
