/**
 * The storage contract on an S3-compatible server speaking the real S3 REST API (s3rver on a
 * free port, path-style, its files in a temp folder; test/support/s3-double.ts). A bucket per
 * test; the server is stopped at the end.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PART_SIZE, S3Storage } from '../../src/attachments/s3-storage.ts';
import { StorageUnavailableError } from '../../src/attachments/storage.ts';
import type { S3Settings } from '../../src/config.ts';
import { freePort } from '../support/free-port.ts';
import { type S3Double, startS3Double } from '../support/s3-double.ts';
import { describeAttachmentStorageContract, type StorageFixture } from './attachment-storage-contract.ts';

let s3: S3Double;
beforeAll(async () => {
  s3 = await startS3Double();
});
afterAll(async () => {
  await s3?.stop();
});

function settings(bucket: string, prefix = ''): S3Settings {
  return {
    bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    prefix,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
}

async function s3Fixture(prefix = ''): Promise<StorageFixture> {
  const bucket = await s3.createBucket();
  const storages = [
    S3Storage.fromSettings(settings(bucket, prefix)),
    S3Storage.fromSettings(settings(bucket, prefix)),
    S3Storage.fromSettings(settings(`${bucket}-missing`, prefix)),
  ] as const;
  return {
    storage: storages[0],
    other: storages[1],
    broken: storages[2],
    async leftovers() {
      const { objects, uploads } = await s3.contents(bucket);
      return [...objects, ...uploads.map((key) => `unfinished multipart upload of ${key}`)];
    },
    receivedBytes: () => s3.partBytes(bucket),
    // lib-storage fills one part before it sends anything, and keeps up to two more in flight.
    maxBufferedBytes: 3 * PART_SIZE,
    async cleanup() {
      await Promise.all(storages.map((s) => s.close()));
    },
  };
}

describeAttachmentStorageContract('S3 (s3rver, path-style)', () => s3Fixture());

describe('S3 specifics', () => {
  it('puts every object under ATTACHMENTS_S3_PREFIX, so the bucket can hold other things', async () => {
    const fixture = await s3Fixture('anmei/attachments/');
    try {
      await fixture.storage.write('conversation-1/attachment-1', Readable.from(['hi']));
      expect(await fixture.leftovers()).toEqual(['anmei/attachments/conversation-1/attachment-1']);
    } finally {
      await fixture.cleanup();
    }
  });

  it('signs with the configured key pair: a wrong access key is refused by the server', async () => {
    const wrong = S3Storage.fromSettings({
      ...settings(await s3.createBucket()),
      credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'not-the-secret' },
    });
    await expect(wrong.read('conversation-1/a')).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    await wrong.close();
  });

  it('a store that does not answer fails write, read and remove with StorageUnavailableError, and destroys the source', async () => {
    const dead = S3Storage.fromSettings({ ...settings('anything'), endpoint: `http://127.0.0.1:${await freePort()}` });
    const source = Readable.from([Buffer.alloc(1000, 1)]);
    const write = await dead.write('conversation-1/a', source).catch((error: unknown) => error);
    expect(write).toBeInstanceOf(StorageUnavailableError);
    expect((write as Error).message).toMatch(/^attachment storage unavailable: upload of conversation-1\/a: /);
    expect(source.destroyed).toBe(true);
    await expect(dead.read('conversation-1/a')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(dead.remove('conversation-1/a')).rejects.toBeInstanceOf(StorageUnavailableError);
    await dead.close();
  });
});
