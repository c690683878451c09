/*
 * Builds the playground (GraphiQL 5, React 19, Monaco and its workers) into playground/dist:
 * index.html plus hashed bundles under assets/, each with a .gz beside it. `npm start`,
 * `npm test` and `npm run build` run it first; it is skipped when nothing it reads has changed
 * (the sources, the examples and package-lock.json), so repeated runs cost ~0.1 s.
 *
 *   tsx playground/build.ts [--force]
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import { loadExampleTabs } from './build/examples';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'playground', 'dist');
const STAMP = path.join(OUT, '.build-stamp');
const INPUTS = [path.join(ROOT, 'playground', 'src'), path.join(ROOT, 'playground', 'build'), path.join(ROOT, 'playground', 'build.ts'), path.join(ROOT, 'examples', 'operations'), path.join(ROOT, 'package-lock.json')];

function inputHash(): string {
  const h = createHash('sha256');
  const add = (p: string) => {
    if (!fs.existsSync(p)) return;
    if (fs.statSync(p).isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) add(path.join(p, name));
      return;
    }
    h.update(path.relative(ROOT, p)).update('\0').update(fs.readFileSync(p)).update('\0');
  };
  INPUTS.forEach(add);
  return h.digest('hex');
}

/** Monaco's ESM files import their own CSS; graphiql/style.css already carries all of it. */
const monacoCssAlreadyBundled: esbuild.Plugin = {
  name: 'monaco-css-already-bundled',
  setup(build) {
    build.onResolve({ filter: /\.css$/ }, (args) => (args.importer.includes(`${path.sep}monaco-editor${path.sep}esm${path.sep}`) ? { path: args.path, namespace: 'empty-css' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'empty-css' }, () => ({ contents: '', loader: 'css' }));
  },
};

/** `import examples from 'playground:examples'`: the ready tabs, made from examples/operations. */
const examplesModule: esbuild.Plugin = {
  name: 'playground-examples',
  setup(build) {
    build.onResolve({ filter: /^playground:examples$/ }, () => ({ path: 'examples', namespace: 'playground' }));
    build.onLoad({ filter: /.*/, namespace: 'playground' }, () => ({
      contents: JSON.stringify(loadExampleTabs(path.join(ROOT, 'examples', 'operations'))),
      loader: 'json',
    }));
  },
};

function outputsOf(result: esbuild.BuildResult & { metafile: esbuild.Metafile }, outDir: string): Record<string, string> {
  const byEntry: Record<string, string> = {};
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    const name = path.basename(file);
    const key = meta.entryPoint ? path.basename(name).replace(/-[A-Z0-9]{8}\.js$/, '') : name.replace(/-[A-Z0-9]{8}\.css$/, '.css');
    byEntry[key] = `/playground/assets/${path.relative(path.join(outDir, 'assets'), path.resolve(ROOT, file)).split(path.sep).join('/')}`;
  }
  return byEntry;
}

async function build(): Promise<void> {
  const force = process.argv.includes('--force');
  const hash = inputHash();
  if (!force && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8') === hash && fs.existsSync(path.join(OUT, 'index.html'))) {
    process.stdout.write('playground: up to date\n');
    return;
  }
  const started = Date.now();
  // Build beside the old output and swap at the end: a running gateway never sees half a build.
  const tmp = `${OUT}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const assets = path.join(tmp, 'assets');
  const common: esbuild.BuildOptions = {
    absWorkingDir: ROOT,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome110', 'firefox110', 'safari16'],
    outdir: assets,
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  };
  const workers = await esbuild.build({
    ...common,
    entryPoints: {
      'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
      'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
      'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
    },
  });
  const w = outputsOf(workers as esbuild.BuildResult & { metafile: esbuild.Metafile }, tmp);
  const main = await esbuild.build({
    ...common,
    entryPoints: { playground: 'playground/src/main.tsx' },
    jsx: 'automatic',
    loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
    plugins: [monacoCssAlreadyBundled, examplesModule],
    define: {
      ...common.define,
      __PLAYGROUND_WORKERS__: JSON.stringify({ editor: w['editor.worker'], json: w['json.worker'], graphql: w['graphql.worker'] }),
    },
  });
  const m = outputsOf(main as esbuild.BuildResult & { metafile: esbuild.Metafile }, tmp);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Playground · Observatory Analytics Gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${m['playground.css']}">
</head>
<body>
<div id="root"></div>
<noscript>The playground needs JavaScript. The API itself is at POST /graphql.</noscript>
<script src="${m.playground}"></script>
</body>
</html>
`;
  fs.writeFileSync(path.join(tmp, 'index.html'), html);
  for (const file of [path.join(tmp, 'index.html'), ...fs.readdirSync(assets).map((f) => path.join(assets, f))]) {
    if (/\.(js|css|html)$/.test(file)) fs.writeFileSync(`${file}.gz`, zlib.gzipSync(fs.readFileSync(file), { level: 9 }));
  }
  fs.writeFileSync(path.join(tmp, '.build-stamp'), hash);
  const old = `${OUT}.old-${process.pid}`;
  if (fs.existsSync(OUT)) fs.renameSync(OUT, old);
  fs.renameSync(tmp, OUT);
  fs.rmSync(old, { recursive: true, force: true });
  const size = fs.readdirSync(path.join(OUT, 'assets')).filter((f) => !f.endsWith('.gz')).reduce((s, f) => s + fs.statSync(path.join(OUT, 'assets', f)).size, 0);
  process.stdout.write(`playground: built in ${((Date.now() - started) / 1000).toFixed(1)} s (${(size / 1e6).toFixed(1)} MB, gzip beside) → ${path.relative(ROOT, OUT)}\n`);
}

build().catch((err) => {
  process.stderr.write(`playground build failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
