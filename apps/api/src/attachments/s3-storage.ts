/**
 * ATTACHMENTS_STORAGE=s3: one object per attachment in a bucket of Amazon S3 or an S3-compatible
 * store (MinIO, Aliyun OSS, Tencent COS; docs/operations.md "Attachments on object storage").
 * Every instance reads and writes the same bucket, so any instance serves any attachment.
 * Contract: storage.ts.
 *
 * Uploads go through @aws-sdk/lib-storage's `Upload`: a file up to one part is sent as one
 * PutObject, a larger one as a multipart upload whose parts are sent while the rest is still
 * arriving, and which is aborted (its parts deleted) when the source or a part fails. Memory per
 * upload: at most PART_SIZE × (QUEUE_SIZE + 1) bytes, never the whole file.
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Settings } from '../config.ts';
import { type AttachmentStorage, assertStorageKey, type ByteRange, StorageUnavailableError } from './storage.ts';

/** Bytes per multipart part: S3's smallest allowed part (5 MiB); smaller files are one PutObject. */
export const PART_SIZE = 5 * 1024 * 1024;
/** Parts of one upload in flight at once. */
const QUEUE_SIZE = 2;

/** A client for `settings`; credentials from the settings, else the AWS default chain. */
export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    // Since 3.729 the SDK adds CRC32 checksum headers to every upload by default, which OSS, COS
    // and older MinIO refuse; send them only where an S3 operation requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      // ms to open a connection, and ms a connection may stay silent mid-request. A download
      // paused by a slow client is cut sooner by the HTTP idle timeout (WS_CONNECTION_TIMEOUT).
      connectionTimeout: 5_000,
      socketTimeout: 30_000,
    },
  });
}

export class S3Storage implements AttachmentStorage {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  /** `prefix` ('' or ending in `/`) is put before every key, so the bucket can hold other things. */
  constructor(options: { client: S3Client; bucket: string; prefix?: string }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
  }

  static fromSettings(settings: S3Settings): S3Storage {
    return new S3Storage({ client: createS3Client(settings), bucket: settings.bucket, prefix: settings.prefix });
  }

  async write(key: string, source: Readable): Promise<number> {
    let objectKey: string;
    try {
      objectKey = this.#key(key);
    } catch (error) {
      source.destroy();
      throw error;
    }
    let sourceError: unknown;
    const onSourceError = (error: unknown) => {
      sourceError ??= error;
    };
    source.on('error', onSourceError);
    let bytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    // A failing source fails `counted`, which fails the upload; a failing upload destroys
    // `counted`, which destroys the source. The upload's own rejection says which.
    pipeline(source, counted).catch(() => undefined);
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: objectKey, Body: counted },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      // The default, spelled out: a failed multipart upload is aborted, which deletes its parts.
      leavePartsOnError: false,
    });
    try {
      await upload.done();
      return bytes;
    } catch (error) {
      counted.destroy();
      source.destroy();
      // lib-storage reports the abort's own failure instead, when aborting fails too.
      throw sourceError ?? storeFault(error, `upload of ${objectKey}`);
    } finally {
      source.off('error', onSourceError);
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable | null> {
    const objectKey = this.#key(key);
    try {
      const output = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: objectKey,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      if (!(output.Body instanceof Readable)) throw new Error(`GetObject ${objectKey} answered without a body stream`);
      return output.Body;
    } catch (error) {
      if (isMissing(error)) return null;
      throw storeFault(error, `GetObject ${objectKey}`);
    }
  }

  async remove(key: string): Promise<void> {
    const objectKey = this.#key(key);
    try {
      // S3 answers 204 for a missing key too; some compatible stores answer 404.
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: objectKey }));
    } catch (error) {
      if (!isMissing(error)) throw storeFault(error, `DeleteObject ${objectKey}`);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #key(key: string): string {
    assertStorageKey(key);
    return `${this.#prefix}${key}`;
  }
}

/** Codes of a connection that could not be made or broke (Node's, as the SDK passes them on). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * `error` as StorageUnavailableError when it passes with time (the SDK has already retried it):
 * no connection, a timeout, or a 5xx answer (SlowDown, ServiceUnavailable, InternalError).
 * Refusals (AccessDenied, NoSuchBucket, InvalidAccessKeyId, a wrong region) are left as they are.
 */
function storeFault(error: unknown, what: string): unknown {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const transient = status !== undefined ? status >= 500 : e.name === 'TimeoutError' || NETWORK_CODES.has(e.code ?? '');
  return transient
    ? new StorageUnavailableError(`attachment storage unavailable: ${what}: ${e.name}: ${e.message}`, { cause: error })
    : error;
}

/** No such object (NoSuchKey, or a bare 404), as opposed to a missing bucket or any other fault. */
function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchKey' || e.name === 'NotFound') return true;
  return e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket';
}
