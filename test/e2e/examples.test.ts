import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kind, buildSchema, parse, validate } from 'graphql';
import type { RunningGateway } from '../../src/app';
import { loadTypeDefs } from '../../src/schema';
import { startTestGateway } from '../support/gateway';

const ROOT = path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, 'examples/operations');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.graphql')).sort();
const text = (f: string) => fs.readFileSync(path.join(DIR, f), 'utf8');
const variablesOf = (f: string): Record<string, Record<string, unknown>> => {
  const v = path.join(DIR, f.replace(/\.graphql$/, '.variables.json'));
  return fs.existsSync(v) ? JSON.parse(fs.readFileSync(v, 'utf8')) : {};
};
const PLACEHOLDER_ID = '<the id of a row from RecentTraces>';

describe('examples/operations are valid documents, alone and together', () => {
  const schema = buildSchema(loadTypeDefs());
  it.each([...files.map((f) => [f, [f]] as const), ['all files together', files] as const])('%s', (_label, group) => {
    const doc = parse(group.map(text).join('\n'));
    // Every specified rule, NoUnusedFragments and KnownFragmentNames included.
    expect(validate(schema, doc).map((e) => e.message)).toEqual([]);
  });
});

describe('examples/operations against the demo data', () => {
  let gw: RunningGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startTestGateway({ DEMO_TRACES: '3000', DEMO_DAYS: '7' });
    key = gw.demoKeys.find((k) => k.role === 'ADMIN')!.key;
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('every operation answers without errors, each file sent on its own', async () => {
    let traceId: string | undefined;
    for (const file of files) {
      const doc = parse(text(file));
      for (const op of doc.definitions) {
        if (op.kind !== Kind.OPERATION_DEFINITION) continue;
        const name = op.name!.value;
        const variables = { ...(variablesOf(file)[name] ?? {}) };
        // The documented way to get an id: a node of RecentTraces.
        if (variables.id === PLACEHOLDER_ID) variables.id = traceId;
        const res = await fetch(gw.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: text(file), operationName: name, variables }),
        });
        const body = (await res.json()) as { data?: any; errors?: unknown[] };
        expect({ name, errors: body.errors }).toEqual({ name, errors: undefined });
        if (name === 'RecentTraces') traceId = body.data.traces.nodes[0].id;
        if (name === 'TraceDetail') expect(body.data.trace).toMatchObject({ id: traceId });
        if (name === 'DashboardSpend') {
          // groupBy and interval are there to be seen: groups per project with a daily series.
          expect(body.data.costs.groups.length).toBeGreaterThan(0);
          for (const g of body.data.costs.groups) {
            expect(g.key.projectId).toEqual(expect.any(String));
            expect(g.series.length).toBeGreaterThanOrEqual(30);
          }
        }
        if (name === 'DashboardPerformance') expect(body.data.performance.groups.length).toBeGreaterThan(0);
      }
    }
    expect(traceId).toEqual(expect.any(String));
  }, 60_000);

  it("the README's first curl sets $KEY from DATA_DIR/demo-keys.json and answers", async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('KEY=') && b.includes('curl'));
    expect(block).toBeDefined();
    // The block as a user runs it next to the data directory of their first start.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-curl-'));
    try {
      fs.mkdirSync(path.join(cwd, '.data'));
      fs.writeFileSync(path.join(cwd, '.data/demo-keys.json'), JSON.stringify(gw.demoKeys));
      const script = block!.replaceAll('localhost:4000', new URL(gw.url).host);
      const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { PATH: process.env.PATH } });
      const body = JSON.parse(stdout) as { data?: any; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data.performance.totals.requestCount).toBeGreaterThan(0);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});
