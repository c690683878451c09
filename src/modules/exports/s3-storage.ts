import { Transform, type Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { assertSafeKey, type ExportStorage, type ExportUpload } from './export-storage';

export interface S3StorageSettings {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly forcePathStyle: boolean;
  readonly prefix: string;
}

/**
 * An S3-compatible bucket. Files go up as multipart uploads (lib-storage, 8 MiB parts, so memory
 * stays at a few parts whatever the file size); an object exists only once its upload is
 * completed, which is what makes a partial file invisible. An upload that a killed gateway
 * never completed stays as parts until the bucket's lifecycle rule aborts it (see README).
 */
export class S3ExportStorage implements ExportStorage {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly s: S3StorageSettings) {
    const cfg: S3ClientConfig = { region: s.region, forcePathStyle: s.forcePathStyle };
    if (s.endpoint) cfg.endpoint = s.endpoint;
    if (s.accessKeyId && s.secretAccessKey) cfg.credentials = { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey };
    this.client = new S3Client(cfg);
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return `${this.s.prefix}${key}`;
  }

  async createUpload(key: string): Promise<ExportUpload> {
    let bytes = 0;
    // Counts what goes through (a 'data' listener would switch the stream to flowing mode).
    const body = new Transform({
      highWaterMark: 1 << 20,
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.s.bucket, Key: this.objectKey(key), Body: body },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const done = upload.done();
    // Observed here so that an early failure is not an unhandled rejection; commit() rethrows it.
    done.catch(() => undefined);
    let settled = false;
    return {
      stream: body,
      async commit() {
        body.end();
        await done;
        settled = true;
        return { bytes };
      },
      async abort() {
        if (settled) return;
        settled = true;
        body.destroy();
        await upload.abort().catch(() => undefined);
      },
    };
  }

  async open(key: string): Promise<{ stream: Readable; bytes: number } | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.s.bucket, Key: this.objectKey(key) }));
      return { stream: r.Body as Readable, bytes: Number(r.ContentLength ?? 0) };
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.s.bucket, Key: this.objectKey(key) }));
  }

  async removePrefix(prefix: string): Promise<number> {
    const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.s.bucket, Prefix: this.objectKey(prefix), MaxKeys: 100 }));
    const keys = (r.Contents ?? []).map((o) => o.Key).filter((k): k is string => Boolean(k));
    for (const k of keys) await this.client.send(new DeleteObjectCommand({ Bucket: this.s.bucket, Key: k }));
    return keys.length;
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.s.bucket }));
  }

  close(): void {
    this.client.destroy();
  }
}
