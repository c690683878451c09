/**
 * `npx tsx bench/embedded-phases.ts [--traces 60000] [--rest 30] [--data-dir DIR] [--keep]`:
 * where the embedded gateway's memory goes during a first start, phase by phase.
 *
 * Runs startGateway() in this process, exactly as `npm start` does (run it with the same node
 * flags: `node --max-semi-space-size=8 --import tsx bench/embedded-phases.ts`), on a fresh data
 * directory (deleted first unless --keep), then rests. Every 250 ms: RSS, the main V8 heap,
 * the worker's heap and PGlite's WebAssembly memory (the worker answers between statements;
 * a statement that runs long leaves a gap, and wasm memory never shrinks, so the value after
 * it is its high-water mark). Phases are told apart by the start-up's own log lines. Prints
 * a table (end of phase / peak in phase) and writes bench/results/embedded-phases.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startGateway } from '../src/app';

const ROOT = path.resolve(__dirname, '..');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const TRACES = arg('traces', '60000');
const REST_S = Number(arg('rest', '30'));
const DATA_DIR = path.resolve(arg('data-dir', path.join(ROOT, 'bench', '.phases-data')));
const LABEL = arg('label', 'run');
const MB = 1048576;

type Phase = 'open' | 'migrations' | 'seeding' | 'rollups' | 'queue+http' | 'rest';
let phase: Phase = 'open';
const marks: Array<{ phase: Phase; at: number }> = [{ phase, at: 0 }];
const t0 = Date.now();
const enter = (p: Phase) => {
  phase = p;
  marks.push({ phase: p, at: Date.now() - t0 });
};

interface Sample {
  t: number;
  phase: Phase;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  wasmMb?: number;
  workerHeapMb?: number;
}

const logLines = new Writable({
  write(chunk, _enc, cb) {
    for (const line of String(chunk).split('\n')) {
      if (!line) continue;
      let msg = '';
      try {
        msg = (JSON.parse(line) as { msg?: string }).msg ?? '';
      } catch {
        continue;
      }
      if (msg === 'empty database: generating demo data') enter('seeding');
      else if (msg === 'demo rows written: building rollups') enter('rollups');
      else if (msg === 'demo data ready') enter('queue+http');
    }
    cb();
  },
});

async function main() {
  if (!process.argv.includes('--keep')) fs.rmSync(DATA_DIR, { recursive: true, force: true });
  const config = loadConfig({
    ...process.env,
    DATA_DIR,
    DEMO_TRACES: TRACES,
    DEMO_DAYS: '14',
    DEMO_LIVE: 'false',
    PORT: arg('port', '41301'),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    ACCESS_LOG_LEVEL: 'silent',
  } as Record<string, string>);
  const logger = createLogger(config, logLines as unknown as never);
  const samples: Sample[] = [];
  let database: { embeddedMemory(): Promise<{ wasmBytes: number; workerHeapUsedBytes: number } | null> } | undefined;
  let sampling = false;
  const sample = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const m = process.memoryUsage();
      const e = database ? await database.embeddedMemory() : null;
      samples.push({
        t: Date.now() - t0,
        phase,
        rssMb: m.rss / MB,
        heapUsedMb: m.heapUsed / MB,
        heapTotalMb: m.heapTotal / MB,
        externalMb: m.external / MB,
        wasmMb: e ? e.wasmBytes / MB : undefined,
        workerHeapMb: e ? e.workerHeapUsedBytes / MB : undefined,
      });
    } finally {
      sampling = false;
    }
  };
  const timer = setInterval(() => void sample(), 250);
  const gw = await startGateway(config, logger, {
    onDatabase: (h) => {
      database = h;
      // Migrations start right after the database is open.
      enter('migrations');
    },
  });
  await sample();
  enter('rest');
  await new Promise((r) => setTimeout(r, REST_S * 1000));
  await sample();
  clearInterval(timer);
  await gw.stop();

  const phases: Phase[] = ['open', 'migrations', 'seeding', 'rollups', 'queue+http', 'rest'];
  const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(0));
  const rows = phases.map((p) => {
    const s = samples.filter((x) => x.phase === p);
    const last = s[s.length - 1];
    const max = (k: keyof Sample) => (s.length ? Math.max(...s.map((x) => (x[k] as number | undefined) ?? 0)) : undefined);
    const start = marks.find((m) => m.phase === p)?.at;
    return { phase: p, startS: start === undefined ? undefined : start / 1000, end: last, peak: { rssMb: max('rssMb'), heapUsedMb: max('heapUsedMb'), wasmMb: max('wasmMb'), workerHeapMb: max('workerHeapMb') } };
  });
  const lines = [
    `embedded first start, ${TRACES} demo traces (${LABEL}); end of phase (peak in phase), MB`,
    '',
    '| phase | from s | RSS | main heap used | worker heap | wasm memory |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.phase} | ${r.startS?.toFixed(1) ?? '–'} | ${fmt(r.end?.rssMb)} (${fmt(r.peak.rssMb)}) | ${fmt(r.end?.heapUsedMb)} (${fmt(r.peak.heapUsedMb)}) | ${fmt(r.end?.workerHeapMb)} (${fmt(r.peak.workerHeapMb)}) | ${fmt(r.end?.wasmMb)} (${fmt(r.peak.wasmMb)}) |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const out = path.join(ROOT, 'bench', 'results', `embedded-phases-${LABEL}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ traces: Number(TRACES), label: LABEL, node: process.version, execArgv: process.execArgv, marks, rows, samples }, null, 2));
  process.stdout.write(`wrote ${path.relative(ROOT, out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
