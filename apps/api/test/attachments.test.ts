/** Uploading images, documents and voice notes as messages, and downloading them back. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barrier, businessFrames } from './support/barrier.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';

// A real 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const MAX = 4096;
let app: TestApp;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anmei-attachments-test-'));
  app = await startTestApp({ ATTACHMENTS_DIR: dir, ATTACHMENT_MAX_BYTES: String(MAX) });
});
afterAll(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

async function upload(
  username: string,
  conversationId: string,
  file: { bytes: Buffer; type: string; name: string },
  fields: Record<string, string> = {},
) {
  const { token } = await app.login(username);
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.type }), file.name);
  const res = await fetch(`${app.baseUrl}/api/v1/chat/${conversationId}/attachments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

async function filesOnDisk(): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
}

describe('attachments', () => {
  it('stores an image as an image message the others receive, and serves the same bytes back to participants', async () => {
    const conversationId = app.conversationId(FACIAL);
    const consultant = await app.connect('consultant_001');
    const res = await upload('customer_456', conversationId, { bytes: PNG, type: 'image/png', name: '../照片.png' });
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({
      message_type: 'image',
      content: '照片.png',
      metadata: { file_name: '照片.png', mime_type: 'image/png', size_bytes: PNG.length },
    });
    const [frame] = await consultant.waitFor('new_message', { where: (f) => f.data.id === res.body.message_id });
    const url = frame?.data.metadata?.url as string;
    expect(url).toBe(`/api/v1/chat/${conversationId}/attachments/${res.body.message.metadata.attachment_id}`);

    const { token } = await app.login('consultant_001');
    const download = await fetch(`${app.baseUrl}${url}`, { headers: { authorization: `Bearer ${token}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);

    const { token: outsider } = await app.login('customer_789');
    const refused = await fetch(`${app.baseUrl}${url}`, { headers: { authorization: `Bearer ${outsider}` } });
    expect(refused.status).toBe(403);
    await consultant.close();
  });

  it('stores a voice note with its duration, and a PDF as a file offered for download', async () => {
    const conversationId = app.conversationId(FACIAL);
    const voice = await upload(
      'customer_456',
      conversationId,
      { bytes: Buffer.from('OggS-fake-opus-data'), type: 'audio/webm;codecs=opus', name: 'voice.webm' },
      { duration_ms: '3200' },
    );
    expect(voice.body.message).toMatchObject({
      message_type: 'voice',
      metadata: { mime_type: 'audio/webm', duration_ms: 3200 },
    });
    const pdf = await upload('customer_456', conversationId, {
      bytes: Buffer.from('%PDF-1.4 test'),
      type: 'application/pdf',
      name: '报告 1.pdf',
    });
    expect(pdf.body.message.message_type).toBe('file');
    const { token } = await app.login('doctor_001');
    const download = await fetch(`${app.baseUrl}${pdf.body.message.metadata.url}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(download.headers.get('content-disposition')).toBe(
      `attachment; filename*=UTF-8''${encodeURIComponent('报告 1.pdf')}`,
    );
  });

  it('answers one Range with 206 and those bytes; several ranges, an unsatisfiable one or an If-Range get the whole file', async () => {
    const bytes = Buffer.from('%PDF-1.4 0123456789abcdefghij');
    const res = await upload('customer_456', app.conversationId(FACIAL), {
      bytes,
      type: 'application/pdf',
      name: 'range.pdf',
    });
    const { token } = await app.login('consultant_001');
    const get = async (headers: Record<string, string>) => {
      const r = await fetch(`${app.baseUrl}${res.body.message.metadata.url}`, {
        headers: { authorization: `Bearer ${token}`, ...headers },
      });
      const body = Buffer.from(await r.arrayBuffer());
      return {
        status: r.status,
        range: r.headers.get('content-range'),
        length: r.headers.get('content-length'),
        acceptRanges: r.headers.get('accept-ranges'),
        body: body.toString('latin1'),
      };
    };
    const size = bytes.length;
    expect(await get({ range: 'bytes=0-0' })).toEqual({
      status: 206,
      range: `bytes 0-0/${size}`,
      length: '1',
      acceptRanges: 'bytes',
      body: '%',
    });
    expect(await get({ range: 'bytes=-4' })).toMatchObject({
      status: 206,
      range: `bytes ${size - 4}-${size - 1}/${size}`,
      body: 'ghij',
    });
    expect(await get({ range: `bytes=9-${size + 100}` })).toMatchObject({
      status: 206,
      range: `bytes 9-${size - 1}/${size}`,
      body: '0123456789abcdefghij',
    });
    const ignored: Array<Record<string, string>> = [
      { range: 'bytes=0-1,4-5' },
      { range: `bytes=${size}-` },
      { range: 'bytes=5-2' },
      { range: 'items=0-1' },
      { range: 'bytes=0-1', 'if-range': '"some-etag"' },
    ];
    for (const headers of ignored) {
      expect([headers, await get(headers)]).toEqual([
        headers,
        { status: 200, range: null, length: String(size), acceptRanges: 'bytes', body: bytes.toString('latin1') },
      ]);
    }
  });

  it('answers HEAD with the headers of the whole file and no body', async () => {
    const bytes = Buffer.from('%PDF-1.4 head only');
    const res = await upload('customer_456', app.conversationId(FACIAL), {
      bytes,
      type: 'application/pdf',
      name: 'head.pdf',
    });
    const { token } = await app.login('consultant_001');
    const head = await fetch(`${app.baseUrl}${res.body.message.metadata.url}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${token}` },
    });
    expect([head.status, head.headers.get('content-length'), head.headers.get('content-type')]).toEqual([
      200,
      String(bytes.length),
      'application/pdf',
    ]);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it("answers 404 when an attachment's file is no longer in storage", async () => {
    const res = await upload('customer_456', app.conversationId(FACIAL), {
      bytes: Buffer.from('%PDF-1.4 soon gone'),
      type: 'application/pdf',
      name: 'gone.pdf',
    });
    await rm(join(dir, app.conversationId(FACIAL), res.body.message.metadata.attachment_id));
    const { token } = await app.login('consultant_001');
    const gone = await app.http('GET', res.body.message.metadata.url, { token });
    expect([gone.status, gone.body.code, gone.body.detail]).toEqual([
      404,
      'NOT_FOUND',
      "The attachment's file is no longer in storage.",
    ]);
  });

  it('refuses a file over ATTACHMENT_MAX_BYTES with 413 and keeps nothing', async () => {
    const before = await filesOnDisk();
    const res = await upload('customer_456', app.conversationId(FACIAL), {
      bytes: Buffer.alloc(MAX * 2, 1),
      type: 'application/pdf',
      name: 'big.pdf',
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      detail: `The file is larger than ATTACHMENT_MAX_BYTES (${MAX} bytes).`,
    });
    expect(await filesOnDisk()).toEqual(before);
  });

  it('refuses types outside the allowlist, and an "image" whose bytes are not an image, with 415', async () => {
    const conversationId = app.conversationId(FACIAL);
    const html = await upload('customer_456', conversationId, {
      bytes: Buffer.from('<html>'),
      type: 'text/html',
      name: 'x.html',
    });
    expect(html.status).toBe(415);
    expect(html.body.detail).toBe('Files of type text/html cannot be uploaded.');
    const fake = await upload('customer_456', conversationId, {
      bytes: Buffer.from('<script>alert(1)</script>'),
      type: 'image/png',
      name: 'x.png',
    });
    expect(fake.status).toBe(415);
    expect(fake.body.detail).toBe("The file's content is not a image/png file.");
  });

  it('refuses uploads from non-participants (403) and stores nothing', async () => {
    const before = await filesOnDisk();
    const res = await upload('customer_789', app.conversationId(FACIAL), {
      bytes: PNG,
      type: 'image/png',
      name: 'a.png',
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('NOT_PARTICIPANT');
    expect(await filesOnDisk()).toEqual(before);
  });

  it('treats a retried upload with the same client_message_id as the same message, delivered once', async () => {
    const conversationId = app.conversationId(FACIAL);
    const consultant = await app.connect('consultant_001');
    const clientMessageId = randomUUID();
    const first = await upload(
      'customer_456',
      conversationId,
      { bytes: PNG, type: 'image/png', name: 'a.png' },
      { client_message_id: clientMessageId },
    );
    const before = await filesOnDisk();
    const again = await upload(
      'customer_456',
      conversationId,
      { bytes: PNG, type: 'image/png', name: 'a.png' },
      { client_message_id: clientMessageId },
    );
    expect(again.body).toMatchObject({ duplicate: true, message_id: first.body.message_id });
    expect(await filesOnDisk()).toEqual(before);
    await barrier(app, [consultant]);
    expect(businessFrames(consultant).filter((a) => a === 'new_message')).toHaveLength(1);
    await consultant.close();
  });

  it('answers a non-multipart body with 415', async () => {
    const { token } = await app.login('customer_456');
    const res = await app.http('POST', `/api/v1/chat/${app.conversationId(FACIAL)}/attachments`, {
      token,
      body: { file: 'x' },
    });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  // Found by the HTTP fuzz (issue #15): busboy's "Unexpected end of multipart data" was answered 500 INTERNAL.
  it('answers a multipart body cut short, or with no parts at all, with VALIDATION_FAILED and keeps nothing', async () => {
    const { token } = await app.login('customer_456');
    const head =
      '--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n';
    const bodies = {
      'cut inside the file': `${head}abc`,
      'cut before the closing boundary': `${head}abc\r\n`,
      'cut inside a part header': '--x\r\nContent-Disposition: form-data; name="fi',
      'no boundary anywhere': 'hello',
    };
    const before = await filesOnDisk();
    for (const [what, body] of Object.entries(bodies)) {
      const res = await app.http('POST', `/api/v1/chat/${app.conversationId(FACIAL)}/attachments`, {
        token,
        body,
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
      });
      expect([what, res.status, res.body.code, res.body.detail]).toEqual([
        what,
        400,
        'VALIDATION_FAILED',
        'The multipart body is malformed: Unexpected end of multipart data.',
      ]);
    }
    expect(await filesOnDisk()).toEqual(before);
  });
});
