import { sql } from 'kysely';
import pg from 'pg';
import { parquetReadObjects } from 'hyparquet';
import { startAnalyticsFixture, type AnalyticsFixture } from '../support/analytics-fixture';
import { gql } from '../support/gateway';
import { MODES } from '../support/modes';
import { insertTraces } from '../support/trace-builder';
import { maybeGunzip, parseCsv, waitForExport } from '../support/export-files';
import { createApiKey } from '../../src/auth/api-keys';
import { SWEEP_QUEUE } from '../../src/modules/exports/export-queue';
import { PassThrough } from 'node:stream';
import { readExportBatch, type KeysetPosition } from '../../src/modules/exports/export-reader';
import { createBatchWriter } from '../../src/modules/exports/export-writers';
import { copyChunksInOrder, copyExportChunk } from '../../src/modules/exports/export-copy';
import { fromDatabaseError } from '../../src/shared/errors';
import { EXPORT_COLUMNS } from '../../src/modules/exports/export-columns';

const END = new Date(Date.now() - 3_600_000);
const FROM = new Date(END.getTime() - 5 * 86_400_000).toISOString();
const TO = new Date(END.getTime() + 60_000).toISOString();

const START = `mutation($filter: TraceFilter, $format: ExportFormat!, $columns: [String!], $compression: ExportCompression) {
  exportTraces(filter: $filter, format: $format, columns: $columns, compression: $compression) { id status columns windowFrom windowTo progress { rowsWritten rowsTotal } } }`;

describe.each(MODES)('trace exports (%s)', (mode) => {
  let f: AnalyticsFixture;
  let admin: string;
  let otherAdmin: string;
  let orgA: string;
  const dir = `/tmp/gw_i11_exports_${process.pid}_${mode}`;

  beforeAll(async () => {
    f = await startAnalyticsFixture(mode, {
      endAt: END,
      now: new Date(),
      traces: 4000,
      days: 6,
      env: { CACHE_TTLS: 'exportJob=0', EXPORT_DIR: dir, EXPORT_BATCH_ROWS: '300', EXPORT_PARQUET_BATCH_ROWS: '300', EXPORT_COPY_BATCH_ROWS: '300', EXPORT_MAX_ROWS: '1500', RATE_LIMIT_FIELD_LIMITS: 'exportTraces=1000' },
    });
    [orgA] = f.orgs as [string];
    admin = f.keys[`${orgA}:ADMIN`]!;
    otherAdmin = f.keys[`${f.orgs[1]}:ADMIN`]!;
    // Rows that CSV must quote and JSON must escape.
    const project = (await f.gw.services.database.db.selectFrom('projects').select('id').where('org_id', '=', orgA).executeTakeFirstOrThrow()).id;
    await insertTraces(f.gw.services.database.db, [
      tricky('00000000-0000-4000-8000-000000000001', 'a "quoted", comma\r\nand a new line', { note: 'x,"y"' }),
      tricky('00000000-0000-4000-8000-000000000002', '', { emoji: 'é😀' }),
      tricky('00000000-0000-4000-8000-000000000003', null, {}),
    ].map((r) => ({ ...r, org_id: orgA, project_id: project })));
  }, 180_000);
  afterAll(async () => {
    await f?.stop();
    (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
  });

  const expected = async (columns = 'id::text AS id, total_cost_usd::text AS cost, input, metadata::text AS metadata') =>
    (
      await sql<Record<string, string | null>>`SELECT ${sql.raw(columns)} FROM traces
        WHERE org_id = ${orgA} AND ts >= ${FROM}::timestamptz AND ts < ${TO}::timestamptz AND model = 'gpt-4o' ORDER BY ts, id`.execute(f.gw.services.database.db)
    ).rows;

  async function runExport(format: string, compression = 'NONE', columns?: string[]) {
    const started = await gql(f.gw.url, admin, START, { filter: { from: FROM, to: TO, models: ['gpt-4o'] }, format, compression, columns });
    expect(started.body.errors).toBeUndefined();
    const job = await waitForExport(f.gw.url, admin, started.body.data.exportTraces.id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', error: null });
    const res = await fetch(new URL(job.location, f.gw.url), { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(job.bytes);
    return { job, res, body: maybeGunzip(body) };
  }

  it('CSV (gzip): RFC 4180 with a header, exactly the filter rows in (ts, id) order, values as stored', async () => {
    const { job, res, body } = await runExport('CSV', 'GZIP', ['id', 'total_cost_usd', 'input', 'metadata']);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="traces-${job.id}.csv.gz"`);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const [header, ...rows] = parseCsv(body.toString('utf8'));
    expect(header).toEqual(['id', 'total_cost_usd', 'input', 'metadata']);
    const want = await expected();
    expect(want.length).toBeGreaterThan(50);
    expect(rows).toEqual(want.map((r) => [r.id, r.cost, r.input, r.metadata]));
    expect(job.rowCount).toBe(want.length);
    expect(job.progress).toEqual({ rowsWritten: want.length, rowsTotal: want.length });
    // The tricky rows round-trip: quotes, comma and CRLF inside a field; "" is not NULL.
    const byId = new Map(rows.map((r) => [r[0], r]));
    expect(byId.get('00000000-0000-4000-8000-000000000001')?.[2]).toBe('a "quoted", comma\r\nand a new line');
    expect(byId.get('00000000-0000-4000-8000-000000000002')?.[2]).toBe('');
    expect(byId.get('00000000-0000-4000-8000-000000000003')?.[2]).toBeNull();
  });

  it('JSONL: one object per line with every readable column; metadata as JSON', async () => {
    const { job, res, body } = await runExport('JSONL');
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = body.toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    const objs = lines.map((l) => JSON.parse(l));
    const want = await expected();
    expect(objs.map((o) => o.id)).toEqual(want.map((r) => r.id));
    expect(Object.keys(objs[0])).toEqual(job.columns);
    expect(job.columns).toContain('input');
    for (const [i, o] of objs.entries()) {
      expect(o.input).toBe(want[i]!.input);
      expect(o.metadata).toEqual(JSON.parse(want[i]!.metadata!));
      expect(Number(o.total_cost_usd)).toBe(Number(want[i]!.cost));
    }
  });

  it('Parquet: typed columns (timestamps in microseconds, exact decimals), same rows', async () => {
    const { body } = await runExport('PARQUET', 'NONE', ['ts', 'id', 'status_code', 'duration_ms', 'total_cost_usd', 'input', 'metadata']);
    const ab = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
    const objs = (await parquetReadObjects({ file: ab as ArrayBuffer })) as Record<string, unknown>[];
    const want = await expected(`id::text AS id, (extract(epoch FROM ts) * 1000000)::bigint::text AS us, status_code::text AS status_code,
      duration_ms::text AS duration, total_cost_usd::text AS cost, input, metadata::text AS metadata`);
    expect(objs.map((o) => o.id)).toEqual(want.map((r) => r.id));
    for (const [i, o] of objs.entries()) {
      const w = want[i]!;
      const ts = o.ts instanceof Date ? BigInt(o.ts.getTime()) * 1000n : BigInt(o.ts as bigint);
      expect(ts / 1000n).toBe(BigInt(w.us!) / 1000n);
      expect(o.status_code).toBe(Number(w.status_code));
      expect(o.duration_ms).toBe(Number(w.duration));
      expect(Number(o.total_cost_usd)).toBeCloseTo(Number(w.cost), 8);
      expect(o.input ?? null).toBe(w.input);
      expect(o.metadata).toEqual(JSON.parse(w.metadata!));
    }
  });

  const collect = (sink: PassThrough) => {
    const parts: Buffer[] = [];
    sink.on('data', (b: Buffer) => parts.push(b));
    return () => Buffer.concat(parts);
  };
  const copyCase = () => ({
    db: f.gw.services.database.db,
    pool: f.gw.services.database.pool,
    scope: { orgId: orgA, projectIds: null },
    filter: { from: new Date(FROM), to: new Date(TO) },
    columns: EXPORT_COLUMNS.map((c) => c.name),
  });
  /** What the batch path (Parquet's and the embedded mode's) writes of every column of the window. */
  async function batchPathBytes(format: 'CSV' | 'JSONL'): Promise<{ bytes: Buffer; rows: number }> {
    const { db, scope, filter, columns } = copyCase();
    const a = new PassThrough();
    const bytesA = collect(a);
    const writer = createBatchWriter(format, columns, a);
    let after: KeysetPosition | null = null;
    let rows = 0;
    for (;;) {
      const { batch, last, count } = await readExportBatch(db, { scope, filter, format, columns, limit: 700, after });
      await writer.write(batch);
      rows += count;
      if (count < 700 || !last) break;
      after = last;
    }
    await writer.finish();
    return { bytes: bytesA(), rows };
  }

  it('server mode: the COPY path writes byte for byte what the batch path writes (all columns, tricky rows, several chunks)', async () => {
    if (mode === 'embedded') return; // embedded mode has only the batch path
    const { db, pool, scope, filter, columns } = copyCase();
    for (const format of ['CSV', 'JSONL'] as const) {
      const { bytes: x, rows: rowsA } = await batchPathBytes(format);
      const b = new PassThrough();
      const bytesB = collect(b);
      await createBatchWriter(format, columns, b).write({ kind: 'lines', lines: [] });
      let after: KeysetPosition | null = null;
      let rowsB = 0;
      let chunks = 0;
      for (;;) {
        const { last, count } = await copyExportChunk(pool, db, { scope, filter, format, columns, limit: 450, after }, b, 10_000);
        rowsB += count;
        chunks++;
        if (count < 450 || !last) break;
        after = last;
      }
      expect(rowsB).toBe(rowsA);
      expect(rowsA).toBeGreaterThan(1000);
      expect(chunks).toBeGreaterThan(2);
      const y = bytesB();
      expect(y.length).toBe(x.length);
      expect(y.equals(x)).toBe(true);
      expect(y.includes(Buffer.from('a ""quoted"", comma\r\nand a new line'))).toBe(format === 'CSV');
    }
  }, 60_000);

  it('server mode: planned chunks rendered 1, 2 or 3 at once come out byte for byte as the batch path, whatever the buffer cap', async () => {
    if (mode === 'embedded') return;
    const { db, pool, scope, filter, columns } = copyCase();
    for (const format of ['CSV', 'JSONL'] as const) {
      const { bytes: x, rows } = await batchPathBytes(format);
      for (const [parallel, chunkRows, maxBuffered] of [[1, 400, 1 << 20], [2, 333, 1 << 20], [3, 250, 4096], [3, rows + 5, 1 << 20]] as const) {
        const b = new PassThrough();
        const bytesB = collect(b);
        await createBatchWriter(format, columns, b).write({ kind: 'lines', lines: [] });
        const counts: number[] = [];
        const written = await copyChunksInOrder(pool, db, { scope, filter, format, columns, chunkRows, parallel, maxBuffered, timeoutMs: 10_000 }, b, {
          beforeChunk: () => undefined,
          afterChunk: async (n) => void counts.push(n),
        });
        expect(written).toBe(rows);
        // Every chunk but the last is exactly its planned size, reported in order.
        expect(counts.slice(0, -1).every((n) => n === chunkRows)).toBe(true);
        expect(counts.length).toBe(Math.floor(rows / chunkRows) + 1);
        expect(bytesB().equals(x)).toBe(true);
      }
    }
  }, 120_000);

  it('server mode: a chunk that fails (statement timeout, or a stop between chunks) is a coded error, and frees every connection it held', async () => {
    if (mode === 'embedded') return;
    const { db, pool: gatewayPool, scope, filter, columns } = copyCase();
    // A pool of its own: the gateway's background work uses the gateway's pool meanwhile.
    const pool = new pg.Pool({ ...(gatewayPool as unknown as { options: pg.PoolConfig }).options, max: 6, min: 0 });
    const base = { scope, filter, format: 'JSONL' as const, columns, chunkRows: 200, parallel: 3, maxBuffered: 1 << 20 };
    const busy = () => pool.totalCount - pool.idleCount + pool.waitingCount;
    const before = 0;
    const sink = new PassThrough();
    sink.resume();
    // Another session holds the table (as a migration would): the chunk waits past its statement timeout.
    const locker = await pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE traces IN ACCESS EXCLUSIVE MODE');
    const err = await copyChunksInOrder(pool, db, { ...base, timeoutMs: 300 }, sink, { beforeChunk: () => undefined, afterChunk: async () => undefined }).catch((e: unknown) => e);
    await locker.query('ROLLBACK');
    locker.release();
    expect(fromDatabaseError(err)?.extensions.code).toBe('TIMEOUT');
    expect(busy()).toBe(before);
    let started = 0;
    const stop = new Error('cancelled');
    const stopped = await copyChunksInOrder(pool, db, { ...base, timeoutMs: 10_000 }, sink, {
      beforeChunk: () => {
        if (++started === 4) throw stop;
      },
      afterChunk: async () => undefined,
    }).catch((e: unknown) => e);
    expect(stopped).toBe(stop);
    expect(started).toBe(4);
    expect(busy()).toBe(before);
    await pool.end();
  }, 60_000);

  it('fixes a relative window at creation, and the signed URL downloads without credentials', async () => {
    const before = Date.now();
    const started = await gql(f.gw.url, admin, START, { filter: { last: '2d' }, format: 'JSONL' });
    const created = started.body.data.exportTraces;
    expect(new Date(created.windowTo).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(new Date(created.windowTo).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(created.windowTo).getTime() - new Date(created.windowFrom).getTime()).toBe(2 * 86_400_000);
    const job = await waitForExport(f.gw.url, admin, created.id);
    expect(job.downloadUrl).toMatch(/^\/exports\/[0-9a-f-]+\/download\?expires=\d+&signature=[\w-]{43}$/);
    const res = await fetch(new URL(job.downloadUrl, f.gw.url));
    expect(res.status).toBe(200);
    expect((await res.text()).split('\n').length - 1).toBe(job.rowCount);
    // Forged or altered tokens, and a token of another job: 403, never the file.
    const forged = job.downloadUrl.replace(/signature=[\w-]{5}/, 'signature=AAAAA');
    expect((await fetch(new URL(forged, f.gw.url))).status).toBe(403);
    const later = job.downloadUrl.replace(/expires=(\d+)/, (_m: string, e: string) => `expires=${Number(e) + 100}`);
    expect((await fetch(new URL(later, f.gw.url))).status).toBe(403);
    const bad = await fetch(new URL(`/exports/${job.id}/download?expires=1&signature=${'A'.repeat(43)}`, f.gw.url));
    expect(bad.status).toBe(403);
    expect(((await bad.json()) as any).errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('refuses expired signed URLs, bad columns and over-large exports with coded errors', async () => {
    const { signedDownloadPath } = await import('../../src/modules/exports/download-token');
    const started = await gql(f.gw.url, admin, START, { filter: { last: '1h' }, format: 'CSV' });
    const job = await waitForExport(f.gw.url, admin, started.body.data.exportTraces.id);
    const expired = signedDownloadPath(f.gw.services.exports!.signingSecret, job.id, orgA, -10);
    const r = await fetch(new URL(expired, f.gw.url));
    expect(r.status).toBe(403);
    expect(((await r.json()) as any).errors[0].message).toMatch(/expired/);

    const code = async (vars: Record<string, unknown>) => (await gql(f.gw.url, admin, START, { format: 'CSV', ...vars })).body.errors?.[0]?.extensions?.code;
    expect(await code({ columns: ['id', 'nope; DROP TABLE traces'] })).toBe('BAD_USER_INPUT');
    expect(await code({ columns: [] })).toBe('BAD_USER_INPUT');
    expect(await code({ columns: ['id', 'id'] })).toBe('BAD_USER_INPUT');
    expect(await code({ filter: { projectIds: ['not-a-project'] } })).toBe('BAD_USER_INPUT');
    // No filter at all: everything retained, far past EXPORT_MAX_ROWS (1500) — refused before queueing.
    const before = await f.gw.services.database.db.selectFrom('export_jobs').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const big = await gql(f.gw.url, admin, START, { format: 'CSV' });
    expect(big.status).toBe(200);
    expect(big.body.errors![0]!.extensions).toMatchObject({ code: 'EXPORT_TOO_LARGE', maxRows: 1500 });
    const after = await f.gw.services.database.db.selectFrom('export_jobs').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    expect(await code({ format: 'XLSX' })).toBe('BAD_USER_INPUT');
  });

  it('keeps another org out: null from exportJob, NOT_FOUND from cancelExport, 404 from the download', async () => {
    const started = await gql(f.gw.url, admin, START, { filter: { last: '1h' }, format: 'JSONL' });
    const job = await waitForExport(f.gw.url, admin, started.body.data.exportTraces.id);
    const seen = await gql(f.gw.url, otherAdmin, 'query($id: ID!) { exportJob(id: $id) { id } }', { id: job.id });
    expect(seen.body).toMatchObject({ data: { exportJob: null } });
    const list = await gql(f.gw.url, otherAdmin, '{ exportJobs(first: 100) { nodes { id } } }');
    expect(list.body.data.exportJobs.nodes.map((n: any) => n.id)).not.toContain(job.id);
    const cancel = await gql(f.gw.url, otherAdmin, 'mutation($id: ID!) { cancelExport(id: $id) { id } }', { id: job.id });
    expect(cancel.body.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    const dl = await fetch(new URL(job.location, f.gw.url), { headers: { authorization: `Bearer ${otherAdmin}` } });
    expect(dl.status).toBe(404);
    expect(((await dl.json()) as any).errors[0].extensions.code).toBe('NOT_FOUND');
    // Unknown and malformed ids are 404 too; no credentials is 401.
    expect((await fetch(new URL('/exports/00000000-0000-4000-8000-00000000abcd/download', f.gw.url), { headers: { authorization: `Bearer ${admin}` } })).status).toBe(404);
    expect((await fetch(new URL('/exports/..%2F..%2Fetc/download', f.gw.url), { headers: { authorization: `Bearer ${admin}` } })).status).toBe(404);
    expect((await fetch(new URL(job.location, f.gw.url))).status).toBe(401);
    // A VIEWER cannot export, nor download.
    const viewer = f.keys[`${orgA}:VIEWER`]!;
    expect((await fetch(new URL(job.location, f.gw.url), { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(403);
    // A project-scoped key sees neither org-wide jobs nor their files.
    const project = (await f.gw.services.database.db.selectFrom('projects').select('id').where('org_id', '=', orgA).executeTakeFirstOrThrow()).id;
    const scoped = (await createApiKey(f.gw.services.database.db, { orgId: orgA, name: 'scoped', role: 'DEVELOPER', projectIds: [project] })).key;
    expect((await gql(f.gw.url, scoped, 'query($id: ID!) { exportJob(id: $id) { id } }', { id: job.id })).body.data.exportJob).toBeNull();
    expect((await fetch(new URL(job.location, f.gw.url), { headers: { authorization: `Bearer ${scoped}` } })).status).toBe(404);
  });

  it('cancels a pending export (then refuses to cancel it again), limits concurrent exports per org, pages exportJobs', async () => {
    // Workers paused on this instance so that jobs stay PENDING.
    const boss = f.gw.services.exports!.boss;
    await f.gw.services.exports!.pauseWorkers();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await gql(f.gw.url, admin, START, { filter: { last: '1h' }, format: 'CSV' });
        expect(r.body.errors).toBeUndefined();
        ids.push(r.body.data.exportTraces.id);
      }
      const fourth = await gql(f.gw.url, admin, START, { filter: { last: '1h' }, format: 'CSV' });
      expect(fourth.body.errors![0]!.extensions).toMatchObject({ code: 'TOO_MANY_EXPORTS', maxConcurrent: 3 });
      const cancelled = await gql(f.gw.url, admin, 'mutation($id: ID!) { cancelExport(id: $id) { id status finishedAt } }', { id: ids[0] });
      expect(cancelled.body.data.cancelExport).toMatchObject({ id: ids[0], status: 'CANCELLED' });
      const again = await gql(f.gw.url, admin, 'mutation($id: ID!) { cancelExport(id: $id) { id } }', { id: ids[0] });
      expect(again.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 'CANCELLED' });
      const dl = await fetch(new URL(`/exports/${ids[0]}/download`, f.gw.url), { headers: { authorization: `Bearer ${admin}` } });
      expect(dl.status).toBe(409);
      expect(((await dl.json()) as any).errors[0].extensions.code).toBe('EXPORT_NOT_READY');
      const pg = await boss.getJobById('trace-export', (await f.gw.services.database.db.selectFrom('export_jobs').select('boss_job_id').where('id', '=', ids[0]!).executeTakeFirstOrThrow()).boss_job_id!);
      expect(pg?.state).toBe('cancelled');
      for (const id of ids.slice(1)) await gql(f.gw.url, admin, 'mutation($id: ID!) { cancelExport(id: $id) { id } }', { id });
      const page1 = await gql(f.gw.url, admin, '{ exportJobs(first: 2, status: CANCELLED) { nodes { id status } pageInfo { hasNextPage endCursor } } }');
      expect(page1.body.data.exportJobs.nodes.map((n: any) => n.id)).toEqual([ids[2], ids[1]]);
      const page2 = await gql(f.gw.url, admin, 'query($a: Cursor) { exportJobs(first: 2, status: CANCELLED, after: $a) { nodes { id } } }', { a: page1.body.data.exportJobs.pageInfo.endCursor });
      expect(page2.body.data.exportJobs.nodes.map((n: any) => n.id)).toEqual([ids[0]]);
      expect((await gql(f.gw.url, admin, '{ exportJobs(after: "bogus") { nodes { id } } }')).body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect((await gql(f.gw.url, admin, 'mutation { cancelExport(id: "nope") { id } }')).body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    } finally {
      await f.gw.services.exports!.resumeWorkers();
    }
  });

  it('reports exports in /metrics and the queue in readiness', async () => {
    const base = f.gw.url.replace('/graphql', '');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^export_jobs_total\{status="created"\} [1-9]/m);
    expect(metrics).toMatch(/^export_jobs_total\{status="succeeded"\} [1-9]/m);
    expect(metrics).toMatch(/^export_jobs_total\{status="cancelled"\} [1-9]/m);
    expect(metrics).toMatch(/^export_rows_total [1-9]/m);
    expect(metrics).toMatch(/^export_duration_seconds_count\{format="CSV",outcome="succeeded"\} [1-9]/m);
    expect(metrics).toMatch(/^export_queue_depth\{state="queued"\} \d+/m);
    expect(metrics).toMatch(/^export_queue_depth\{state="active"\} \d+/m);
    const ready = (await (await fetch(`${base}/health/ready`)).json()) as any;
    expect(ready.checks.export_queue).toMatchObject({ status: 'up', storage: 'local', workers: mode === 'embedded' ? 1 : 2 });
    expect(typeof ready.checks.export_queue.queued).toBe('number');
  });

  it('deletes expired files from the scheduled sweep job on the real queue', async () => {
    const started = await gql(f.gw.url, admin, START, { filter: { last: '1h' }, format: 'CSV' });
    const job = await waitForExport(f.gw.url, admin, started.body.data.exportTraces.id);
    expect(job.status).toBe('SUCCEEDED');
    const db = f.gw.services.database.db;
    const row = await db.selectFrom('export_jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
    expect(await f.gw.services.exports!.storage.open(row.file_key!)).not.toBeNull();
    await db.updateTable('export_jobs').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', row.id).execute();
    await f.gw.services.exports!.boss.send(SWEEP_QUEUE, {});
    const gone = await waitForExport(f.gw.url, admin, row.id, (s) => s === 'EXPIRED', 30_000);
    expect(gone.status).toBe('EXPIRED');
    expect(await f.gw.services.exports!.storage.open(row.file_key!)).toBeNull();
    expect((await fetch(new URL(`/exports/${row.id}/download`, f.gw.url), { headers: { authorization: `Bearer ${admin}` } })).status).toBe(410);
  });
});

function tricky(id: string, input: string | null, metadata: Record<string, string>) {
  return {
    ts: new Date(END.getTime() - 3_600_000),
    id,
    trace_id: id.replace(/-/g, ''),
    span_id: id.replace(/-/g, '').slice(0, 16),
    parent_span_id: null,
    provider: 'openai',
    model: 'gpt-4o',
    operation: 'chat',
    user_id: 'user "1"',
    session_id: null,
    environment: 'production',
    status_code: 200,
    error_type: null,
    duration_ms: 12.5,
    ttft_ms: null,
    prompt_tokens: 1,
    completion_tokens: 2,
    cached_tokens: 0,
    total_tokens: 3,
    prompt_cost_usd: '0.00000001',
    completion_cost_usd: '0.00000002',
    total_cost_usd: '0.00000003',
    input,
    output: null,
    metadata: JSON.stringify(metadata) as never,
    tags: ['a,b', 'c"d'],
  };
}
