import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCostCli, type CostRow } from '../../src/cli/cost';

const ROOT = path.resolve(__dirname, '../..');
const exec = promisify(execFile);

/**
 * The self-contained CLI as a client team's CI uses it: one file copied into a folder with no
 * node_modules and no gateway checkout around it, run with plain node.
 */
describe('cost CLI bundle (dist/analytics-gateway-cost.cjs)', () => {
  let work: string;
  let bundle: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cost-bundle-'));
    const built = path.join(work, 'build', 'analytics-gateway-cost.cjs');
    await exec(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'tools/build-cost-cli.ts'), '--out', built], { cwd: ROOT });
    // A client repository: the bundle and its own operations, nothing else.
    const client = path.join(work, 'client');
    fs.mkdirSync(path.join(client, 'src'), { recursive: true });
    bundle = path.join(client, 'analytics-gateway-cost.cjs');
    fs.copyFileSync(built, bundle);
    for (const f of fs.readdirSync(path.join(ROOT, 'examples/operations'))) fs.copyFileSync(path.join(ROOT, 'examples/operations', f), path.join(client, 'src', f));
    fs.writeFileSync(path.join(client, 'src', 'panel.tsx'), 'import { gql } from "@apollo/client";\nexport const Q = gql`query Panel { viewer { role } }`;\nexport const P = () => <b/>;\n');
  }, 120_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const runBundle = async (args: string[]) => {
    try {
      const r = await exec(process.execPath, [bundle, ...args], { cwd: path.dirname(bundle), env: { PATH: process.env.PATH } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('runs without node_modules or the gateway around it and prices exactly as the in-repo CLI', async () => {
    expect(fs.existsSync(path.join(path.dirname(bundle), 'node_modules'))).toBe(false);
    const r = await runBundle(['src/**/*', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = (JSON.parse(r.stdout) as { rows: CostRow[] }).rows;
    const out: string[] = [];
    const code = runCostCli([path.join(path.dirname(bundle), 'src'), '--json'], { out: (s) => out.push(s), err: () => undefined, env: {} });
    expect(code).toBe(0);
    const inRepo = (JSON.parse(out.join('')) as { rows: CostRow[] }).rows;
    const key = (rows: CostRow[]) => rows.map((x) => [x.operation, x.cost, x.limit, x.verdict]).sort();
    expect(key(rows)).toEqual(key(inRepo));
    expect(rows.map((x) => x.operation).sort()).toEqual(['DashboardPerformance', 'DashboardPickers', 'DashboardSpend', 'Panel', 'RecentTraces', 'TraceDetail']);
  });

  it('keeps the exit-code contract: --help 0, over budget 1, usage 2', async () => {
    expect((await runBundle(['--help'])).code).toBe(0);
    expect(await runBundle(['src/**/*.graphql', '--budget', '20', '--role', 'viewer'])).toMatchObject({ code: 1, stdout: expect.stringMatching(/RecentTraces .* over budget/) });
    const bad = await runBundle(['src', '--schema', 'schema.graphql']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual(['cost: --schema schema.graphql: no such file or folder (see analytics-gateway cost --help)']);
  });
});
