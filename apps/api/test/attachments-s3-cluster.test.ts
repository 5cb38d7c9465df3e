/**
 * Two API instances that share only Redis, Postgres and an S3-compatible server serve each
 * other's attachments (issue #18). Both run in-process with ATTACHMENTS_STORAGE=s3 on one bucket
 * of an s3rver started by this file; each has an ATTACHMENTS_DIR of its own, which must stay
 * empty. Postgres: a schema of this run; Redis: the machine's, under a prefix of this run (its
 * keys are deleted at the end; Redis is never flushed).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/free-port.ts';
import { useInstancePair } from './support/instance-pair.ts';
import { LEVEL } from './support/log-capture.ts';
import { type S3Double, startS3Double } from './support/s3-double.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';

const MiB = 1024 * 1024;
/** Over one 5 MiB part, so a file near the limit goes up as a multipart upload. */
const MAX = 6 * MiB;
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let s3: S3Double;
let bucket: string;
let dirs: string[];
const pair = useInstancePair({
  tag: 'test-s3',
  async before() {
    s3 = await startS3Double();
    bucket = await s3.createBucket();
    dirs = [await mkdtemp(join(tmpdir(), 'anmei-s3-cluster-a-')), await mkdtemp(join(tmpdir(), 'anmei-s3-cluster-b-'))];
  },
  env: (instance) => ({
    ATTACHMENT_MAX_BYTES: String(MAX),
    ATTACHMENTS_DIR: dirs[instance]!,
    ...s3.env(bucket),
  }),
  async after() {
    await s3?.stop();
    await Promise.all((dirs ?? []).map((d) => rm(d, { recursive: true, force: true })));
  },
});
let a: TestApp;
let b: TestApp;
beforeAll(() => {
  ({ a, b } = pair);
});

async function upload(app: TestApp, username: string, file: { bytes: Buffer; type: string; name: string }) {
  const { token } = await app.login(username);
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.type }), file.name);
  const res = await fetch(`${app.baseUrl}/api/v1/chat/${app.conversationId(FACIAL)}/attachments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

async function download(app: TestApp, username: string, url: string, headers: Record<string, string> = {}) {
  const { token } = await app.login(username);
  const res = await fetch(`${app.baseUrl}${url}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function filesOnDisks(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) found.push(...(await readdir(dir, { recursive: true })));
  return found;
}

describe('attachments on S3, two instances', () => {
  it('an image uploaded through A reaches a participant on B, who downloads it through B; an outsider is refused; the bytes are in the bucket, on no disk', async () => {
    const consultantOnB = await b.connect('consultant_001');
    const res = await upload(a, 'customer_456', { bytes: PNG, type: 'image/png', name: 'photo.png' });
    expect(res.status).toBe(200);
    const attachmentId = res.body.message.metadata.attachment_id as string;
    const [frame] = await consultantOnB.waitFor('new_message', { where: (f) => f.data.id === res.body.message_id });
    const url = frame?.data.metadata?.url as string;

    const got = await download(b, 'consultant_001', url);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''photo.png");
    expect(got.headers.get('cache-control')).toBe('private, max-age=3600');
    expect(got.bytes.equals(PNG)).toBe(true);

    const outsider = await download(b, 'customer_789', url);
    expect(outsider.status).toBe(403);
    expect(JSON.parse(outsider.bytes.toString()).code).toBe('NOT_PARTICIPANT');

    expect(await s3.contents(bucket)).toEqual({
      objects: [`${a.conversationId(FACIAL)}/${attachmentId}`],
      uploads: [],
    });
    expect(await filesOnDisks()).toEqual([]);
    await consultantOnB.close();
  });

  it('a file near ATTACHMENT_MAX_BYTES goes up through B as a multipart upload and comes back through A whole and by range', async () => {
    const bytes = Buffer.alloc(MAX - 1000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 10)) & 0xff;
    bytes.write('%PDF-1.7', 0, 'latin1');
    const res = await upload(b, 'customer_456', { bytes, type: 'application/pdf', name: '报告.pdf' });
    expect(res.status).toBe(200);
    expect(res.body.message.metadata.size_bytes).toBe(bytes.length);

    const whole = await download(a, 'doctor_001', res.body.message.metadata.url);
    expect([whole.status, whole.bytes.length, whole.bytes.equals(bytes)]).toEqual([200, bytes.length, true]);
    expect(whole.headers.get('content-disposition')).toBe(
      `attachment; filename*=UTF-8''${encodeURIComponent('报告.pdf')}`,
    );

    // Across the part boundary (5 MiB).
    const start = 5 * MiB - 10;
    const part = await download(a, 'doctor_001', res.body.message.metadata.url, {
      range: `bytes=${start}-${start + 19}`,
    });
    expect([
      part.status,
      part.headers.get('content-range'),
      part.bytes.equals(bytes.subarray(start, start + 20)),
    ]).toEqual([206, `bytes ${start}-${start + 19}/${bytes.length}`, true]);
    expect(await filesOnDisks()).toEqual([]);
  });

  it('a file over ATTACHMENT_MAX_BYTES is refused with 413 mid-stream and leaves no object and no unfinished multipart upload', async () => {
    const before = await s3.contents(bucket);
    const res = await upload(a, 'customer_456', {
      bytes: Buffer.concat([Buffer.from('%PDF-1.7'), Buffer.alloc(MAX + MiB, 7)]),
      type: 'application/pdf',
      name: 'too-big.pdf',
    });
    expect([res.status, res.body.code, res.body.detail]).toEqual([
      413,
      'PAYLOAD_TOO_LARGE',
      `The file is larger than ATTACHMENT_MAX_BYTES (${MAX} bytes).`,
    ]);
    expect(await s3.contents(bucket)).toEqual(before);
    expect(await filesOnDisks()).toEqual([]);
  });

  it('B keeps serving what A uploaded after A is gone', async () => {
    const res = await upload(a, 'customer_456', { bytes: PNG, type: 'image/png', name: 'later.png' });
    await a.close();
    const got = await download(b, 'consultant_001', res.body.message.metadata.url);
    expect([got.status, got.bytes.equals(PNG)]).toEqual([200, true]);
  });
});

describe('attachments on S3 that does not answer', () => {
  it('an upload is answered 503 SERVICE_UNAVAILABLE with Retry-After, logged as a WARN, not an ERROR', async () => {
    const deadEndpoint = `http://127.0.0.1:${await freePort()}`;
    const alone = await startTestApp({ ...s3.env(bucket), ATTACHMENTS_S3_ENDPOINT: deadEndpoint });
    try {
      const { token } = await alone.login('customer_456');
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'photo.png');
      const res = await fetch(`${alone.baseUrl}/api/v1/chat/${alone.conversationId(FACIAL)}/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      expect([res.status, res.headers.get('retry-after'), (await res.json()).code]).toEqual([
        503,
        '5',
        'SERVICE_UNAVAILABLE',
      ]);
      const warned = await alone.logs.waitFor(
        (r) => r.msg === 'attachment storage unavailable: answered SERVICE_UNAVAILABLE',
        'the WARN for the unreachable storage',
      );
      expect(warned.level).toBe(LEVEL.warn);
      expect(alone.logs.find((r) => r.level >= LEVEL.error)).toEqual([]);
    } finally {
      await alone.close();
    }
  });
});
