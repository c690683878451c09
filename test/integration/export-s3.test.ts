import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
// s3rver: an S3-compatible HTTP server (multipart uploads included) run locally; no real S3 or
// MinIO is installable on these machines, so this is the S3 API the tests can reach.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };
import type { RunningGateway } from '../../src/app';
import { S3ExportStorage } from '../../src/modules/exports/s3-storage';
import { gql, startTestGateway } from '../support/gateway';
import { waitForExport } from '../support/export-files';

describe('exports to S3-compatible storage', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-i11-s3-'));
  let server: { run(): Promise<{ port: number }>; close(): Promise<void> };
  let endpoint: string;
  let gw: RunningGateway;
  const settings = () => ({ bucket: 'exports', region: 'us-east-1', endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, prefix: 'gw/' });

  beforeAll(async () => {
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'exports' }] });
    const addr = await server.run();
    endpoint = `http://127.0.0.1:${addr.port}`;
    gw = await startTestGateway({
      CACHE_TTLS: 'exportJob=0',
      EXPORT_STORAGE: 's3',
      EXPORT_S3_BUCKET: 'exports',
      EXPORT_S3_ENDPOINT: endpoint,
      EXPORT_S3_ACCESS_KEY_ID: 'S3RVER',
      EXPORT_S3_SECRET_ACCESS_KEY: 'S3RVER',
      EXPORT_S3_FORCE_PATH_STYLE: 'true',
      EXPORT_S3_PREFIX: 'gw/',
    });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const list = async () => {
    const c = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      return ((await c.send(new ListObjectsV2Command({ Bucket: 'exports' }))).Contents ?? []).map((o) => ({ key: o.Key, size: o.Size }));
    } finally {
      c.destroy();
    }
  };

  it('a multipart upload is invisible until committed; an aborted one never appears', async () => {
    const storage = new S3ExportStorage(settings());
    try {
      const up = await storage.createUpload('org_x/job-1.jsonl');
      const chunk = Buffer.alloc(1 << 20, 'a');
      // 20 MiB: three 8 MiB parts.
      for (let i = 0; i < 20; i++) if (!up.stream.write(chunk)) await new Promise((r) => up.stream.once('drain', r));
      expect(await list()).toEqual([]);
      expect(await storage.open('org_x/job-1.jsonl')).toBeNull();
      expect(await up.commit()).toEqual({ bytes: 20 << 20 });
      expect(await list()).toEqual([{ key: 'gw/org_x/job-1.jsonl', size: 20 << 20 }]);
      const dropped = await storage.createUpload('org_x/job-2.jsonl');
      dropped.stream.write(chunk);
      await dropped.abort();
      expect((await list()).map((o) => o.key)).toEqual(['gw/org_x/job-1.jsonl']);
      expect(await storage.removePrefix('org_x/job-')).toBe(1);
      expect(await list()).toEqual([]);
      await expect(storage.createUpload('../escape')).rejects.toThrow(/unsafe/);
    } finally {
      storage.close();
    }
  });

  it('an export goes to the bucket and downloads through the gateway', async () => {
    const key = gw.demoKeys.find((k) => k.role === 'ADMIN')!.key;
    const r = await gql(gw.url, key, 'mutation { exportTraces(format: JSONL, compression: GZIP, filter: {last: "7d"}) { id } }');
    expect(r.body.errors).toBeUndefined();
    const job = await waitForExport(gw.url, key, r.body.data.exportTraces.id);
    expect(job.status).toBe('SUCCEEDED');
    const objects = await list();
    expect(objects).toHaveLength(1);
    expect(objects[0]!.key).toMatch(new RegExp(`^gw/.+/${job.id}-1\\.jsonl\\.gz$`));
    expect(objects[0]!.size).toBe(job.bytes);
    const res = await fetch(new URL(job.downloadUrl, gw.url));
    expect(res.status).toBe(200);
    const { gunzipSync } = await import('node:zlib');
    const lines = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(job.rowCount);
    const ready = await fetch(gw.url.replace('/graphql', '/health/ready'));
    expect(((await ready.json()) as any).checks.export_queue).toMatchObject({ status: 'up', storage: 's3' });
  });
});
