/*
 * Bundles the cost CLI into one file with the gateway's schema inside:
 * dist/analytics-gateway-cost.cjs, runnable with plain `node` from any folder, no node_modules.
 * Client teams' CI downloads that one file instead of installing the gateway. `npm run build`
 * runs it.
 *
 *   tsx tools/build-cost-cli.ts [--out file]
 */
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { loadTypeDefs } from '../src/schema-sdl';

const ROOT = path.resolve(__dirname, '..');
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 && process.argv[outArg + 1] ? path.resolve(process.argv[outArg + 1]!) : path.join(ROOT, 'dist', 'analytics-gateway-cost.cjs');
const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

async function main(): Promise<void> {
  const started = performance.now();
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'src', 'cli', 'cost-main.ts')],
    outfile: OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'linked',
    // The schema the server runs, as one string: the bundle reads no file of this repo.
    // graphql-tag-pluck's ESM build (picked for `import`) calls createRequire(import.meta.url).
    define: { __GATEWAY_SDL__: JSON.stringify(loadTypeDefs()), 'import.meta.url': '__bundle_url' },
    banner: { js: `#!/usr/bin/env node\n// analytics-gateway cost ${version}: prices GraphQL operations against the gateway's schema (node analytics-gateway-cost.cjs --help).\nconst __bundle_url = require('node:url').pathToFileURL(__filename).href;` },
    // graphql-tag-pluck loads these only for .vue/.svelte/.astro/.gts files, which the CLI does not take.
    external: ['typescript', '@vue/compiler-sfc', 'svelte2tsx', 'svelte', '@astrojs/compiler', 'astrojs-compiler-sync', 'content-tag'],
    logLevel: 'warning',
  });
  fs.chmodSync(OUT, 0o755);
  const kb = Math.round(fs.statSync(OUT).size / 1024);
  process.stdout.write(`cost CLI bundle: ${path.relative(process.cwd(), OUT)} (${kb} KiB) in ${Math.round(performance.now() - started)} ms\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
