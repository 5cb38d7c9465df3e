/**
 * An S3-compatible server for tests: s3rver (the S3 REST API over HTTP, path-style, on a free
 * port of 127.0.0.1, its objects in a temp folder), which checks each request's access key
 * (S3RVER / S3RVER). s3rver 3.7.1 lacks two operations the code under test and the tests need;
 * they are added here after the S3 API reference, on s3rver's own upload folder:
 * AbortMultipartUpload (`DELETE /bucket/key?uploadId=…`, which lib-storage sends when an upload
 * fails) and ListMultipartUploads (`GET /bucket?uploads`, to prove none is left behind). It also
 * answers `Range: bytes=0-0` with the whole object (it reads the end as `end || Infinity`); that
 * one range is answered here as S3 does, with the first byte.
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './free-port.ts';

const require = createRequire(import.meta.url);

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  set(name: string, value: string): void;
  params?: Record<string, string>;
  status: number;
  body: unknown;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: Middleware[];
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
type S3ErrorClass = new (code: string, message?: string) => Error;

const S3rver = require('s3rver') as S3rverClass;
const S3Error = require('s3rver/lib/models/error') as S3ErrorClass;
const authentication = require('s3rver/lib/middleware/authentication') as () => Middleware;

export interface S3Double {
  /** http://127.0.0.1:<port>, to be used with path-style addressing. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The test's own client, to look into buckets. */
  client: S3Client;
  /** A new, empty bucket with a random name. */
  createBucket(): Promise<string>;
  /** Object keys, and the keys of unfinished multipart uploads, in `bucket`. */
  contents(bucket: string): Promise<{ objects: string[]; uploads: string[] }>;
  /** Bytes of the parts of unfinished multipart uploads s3rver has received for `bucket` so far. */
  partBytes(bucket: string): Promise<number>;
  /** The API's environment for ATTACHMENTS_STORAGE=s3 on `bucket`. */
  env(bucket: string): Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3Double(): Promise<S3Double> {
  const directory = await mkdtemp(join(tmpdir(), 'anmei-s3rver-'));
  const port = await freePort();
  const server = new S3rver({ address: '127.0.0.1', port, directory, silent: true });
  const uploadsDir = (bucket: string) => server.store.getResourcePath(bucket, undefined, 'uploads');
  const objectFile = (bucket: string, key: string) => server.store.getResourcePath(bucket, key, 'object');
  // Before s3rver's router (the last middleware), after its XML encoder and error handler.
  server.middleware.splice(server.middleware.length - 1, 0, missingOperations(uploadsDir, objectFile));
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const region = 'us-east-1';
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials });

  return {
    endpoint,
    region,
    ...credentials,
    client,
    async createBucket() {
      const bucket = `test-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    async contents(bucket) {
      const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return {
        objects: (objects.Contents ?? []).map((o) => o.Key ?? '?'),
        uploads: (uploads.Uploads ?? []).map((u) => u.Key ?? '?'),
      };
    },
    async partBytes(bucket) {
      let total = 0;
      for (const entry of await readdir(uploadsDir(bucket), { recursive: true, withFileTypes: true }).catch(() => [])) {
        if (entry.isFile() && /^\d+$/.test(entry.name)) total += (await stat(join(entry.parentPath, entry.name))).size;
      }
      return total;
    },
    env(bucket) {
      return {
        ATTACHMENTS_STORAGE: 's3',
        ATTACHMENTS_S3_BUCKET: bucket,
        ATTACHMENTS_S3_REGION: region,
        ATTACHMENTS_S3_ENDPOINT: endpoint,
        ATTACHMENTS_S3_FORCE_PATH_STYLE: 'true',
        ATTACHMENTS_S3_ACCESS_KEY_ID: credentials.accessKeyId,
        ATTACHMENTS_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      };
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** AbortMultipartUpload, ListMultipartUploads and `bytes=0-0`, as S3 answers them. */
function missingOperations(
  uploadsDir: (bucket: string) => string,
  objectFile: (bucket: string, key: string) => string,
): Middleware {
  const authenticate = authentication();
  return async (ctx, next) => {
    const [, bucket = '', ...rest] = ctx.path.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const abort = ctx.method === 'DELETE' && key !== '' && ctx.query.uploadId !== undefined;
    const list = ctx.method === 'GET' && key === '' && ctx.query.uploads !== undefined;
    const firstByte = ctx.method === 'GET' && key !== '' && ctx.headers.range === 'bytes=0-0';
    if (!abort && !list && !firstByte) return next();
    ctx.params = { bucket, ...(key ? { key } : {}) };
    await authenticate(ctx, async () => {
      if (firstByte) {
        const bytes = await readFile(objectFile(bucket, key)).catch(() => null);
        if (!bytes) throw new S3Error('NoSuchKey', 'The specified key does not exist.');
        if (bytes.length === 0) throw new S3Error('InvalidRange', 'The requested range is not satisfiable');
        ctx.set('Content-Range', `bytes 0-0/${bytes.length}`);
        ctx.status = 206;
        ctx.body = bytes.subarray(0, 1);
        return;
      }
      if (abort) {
        const dir = join(uploadsDir(bucket), String(ctx.query.uploadId).replace(/[^0-9a-f]/g, ''));
        const stored = await readFile(join(dir, 'key'), 'utf8').catch(() => null);
        if (stored !== key) throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
        await rm(dir, { recursive: true, force: true });
        ctx.status = 204;
        return;
      }
      const uploads: Array<{ Key: string; UploadId: string; Initiated: string }> = [];
      for (const id of await readdir(uploadsDir(bucket)).catch(() => [])) {
        const dir = join(uploadsDir(bucket), id);
        const stored = await readFile(join(dir, 'key'), 'utf8').catch(() => null);
        if (stored !== null)
          uploads.push({ Key: stored, UploadId: id, Initiated: (await stat(dir)).birthtime.toISOString() });
      }
      ctx.body = {
        ListMultipartUploadsResult: {
          '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
          Bucket: bucket,
          KeyMarker: '',
          UploadIdMarker: '',
          MaxUploads: 1000,
          IsTruncated: false,
          Upload: uploads,
        },
      };
    });
  };
}
