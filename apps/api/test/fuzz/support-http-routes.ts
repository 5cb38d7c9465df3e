/**
 * The HTTP fuzz's route table (issue #15): every route of the API and of its docs, with the
 * values that are mostly valid for each (so requests get past validation often enough to reach the
 * handlers), and the multipart uploads of the attachment route.
 */
import { ROLES } from '@anmei/protocol';
import fc from 'fast-check';
import { hostileNumber, hostileString, storableText } from './support-values.ts';

export interface HttpPools {
  conversationIds: string[];
  userIds: string[];
  messageIds: string[];
  attachmentIds: string[];
  deviceIds: string[];
  /** An access token per role. */
  tokens: Record<(typeof ROLES)[number], string>;
}

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The OpenAPI path, with `{param}` segments. */
  path: string;
  /** Relative frequency. Login, sign-up and account creation are rare: each valid one costs an Argon2 hash. */
  weight: number;
  body?: Record<string, fc.Arbitrary<unknown>>;
  query?: Record<string, fc.Arbitrary<unknown>>;
  multipart?: true;
}

const text = fc.oneof({ weight: 4, arbitrary: storableText }, { weight: 1, arbitrary: hostileString });
const position = fc.oneof(fc.nat({ max: 100 }), hostileNumber);
const username = fc.oneof(fc.stringMatching(/^[a-z0-9_]{3,32}$/), text);
const password = fc.oneof(fc.string({ minLength: 8, maxLength: 20 }), text);
/** Free-form `data`: small objects, and some nested past the 32 levels the server stores (not much deeper: JSON.stringify recurses). */
const data = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  fc.integer({ min: 1, max: 1_000 }).map((depth) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  }),
);

/** Every route of the API and of its docs, with values that are mostly valid for it. */
export function routeSpecs(p: HttpPools): RouteSpec[] {
  const pick = (values: string[]) =>
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: text });
  const conversation = pick(p.conversationIds);
  const user = pick(p.userIds);
  const webPush = fc.record({
    endpoint: fc.oneof(fc.constant('https://fcm.googleapis.com/fcm/send/abc'), fc.webUrl(), text),
    keys: fc.record({
      p256dh: fc.stringMatching(/^[A-Za-z0-9_-]{87}$/),
      auth: fc.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    }),
    expirationTime: fc.oneof(fc.constant(null), hostileNumber),
  });
  return [
    { method: 'GET', path: '/health', weight: 1 },
    {
      method: 'POST',
      path: '/api/v1/auth/login',
      weight: 1,
      body: {
        username: fc.oneof(fc.constantFrom('admin', 'customer_456', 'nobody'), text),
        password: fc.oneof(fc.constant('demo1234'), text),
      },
    },
    { method: 'POST', path: '/api/v1/auth/register', weight: 1, body: { username, password, display_name: text } },
    { method: 'GET', path: '/api/v1/auth/me', weight: 2 },
    { method: 'POST', path: '/api/v1/ws/ticket', weight: 2 },
    // Never the demo password as the current one: a fuzzed change must not lock the other lanes out.
    {
      method: 'POST',
      path: '/api/v1/auth/password',
      weight: 1,
      body: { current_password: text.filter((t) => t !== 'demo1234'), new_password: fc.oneof(password, text) },
    },
    { method: 'GET', path: '/api/v1/conversations', weight: 2 },
    {
      method: 'POST',
      path: '/api/v1/conversations',
      weight: 3,
      body: { title: text, consultant_id: user, customer_id: user },
    },
    {
      method: 'GET',
      path: '/api/v1/chat/{conversation_id}/messages',
      weight: 6,
      query: {
        before_seq: position,
        after_seq: position,
        limit: fc.oneof(fc.integer({ min: 1, max: 200 }), hostileNumber),
      },
    },
    {
      method: 'POST',
      path: '/api/v1/chat/{conversation_id}/send',
      weight: 6,
      body: { content: text, client_message_id: fc.oneof(fc.uuid(), text) },
    },
    {
      method: 'POST',
      path: '/api/v1/chat/{conversation_id}/read',
      weight: 4,
      body: { message_ids: fc.array(pick(p.messageIds), { maxLength: 4 }) },
    },
    { method: 'POST', path: '/api/v1/chat/{conversation_id}/participants', weight: 3, body: { user_id: user } },
    { method: 'PATCH', path: '/api/v1/chat/{conversation_id}', weight: 2, body: { title: text } },
    { method: 'DELETE', path: '/api/v1/chat/{conversation_id}/participants/{user_id}', weight: 2 },
    { method: 'POST', path: '/api/v1/chat/{conversation_id}/attachments', weight: 4, multipart: true },
    { method: 'GET', path: '/api/v1/chat/{conversation_id}/attachments/{attachment_id}', weight: 3 },
    {
      method: 'POST',
      path: '/api/v1/admin/notifications',
      weight: 3,
      body: {
        conversation_id: fc.oneof(conversation, fc.constant(null)),
        title: text,
        message: text,
        type: text,
        data,
      },
    },
    {
      method: 'POST',
      path: '/api/v1/admin/mobile-notifications',
      weight: 3,
      body: {
        conversation_id: conversation,
        title: text,
        content: text,
        action: text,
        priority: fc.constantFrom('normal', 'high', 'urgent'),
        data,
      },
    },
    {
      method: 'POST',
      path: '/api/v1/admin/direct-messages',
      weight: 3,
      body: { user_id: user, content: text, title: text, type: text, data },
    },
    {
      method: 'POST',
      path: '/api/v1/admin/users',
      weight: 1,
      body: { username, password, display_name: text, role: fc.constantFrom(...ROLES, 'root') },
    },
    { method: 'GET', path: '/api/v1/admin/users', weight: 2, query: { role: fc.constantFrom(...ROLES, 'root', '') } },
    { method: 'GET', path: '/api/v1/admin/users/{user_id}/devices', weight: 2 },
    {
      method: 'GET',
      path: '/api/v1/directory',
      weight: 2,
      query: { role: fc.constantFrom('consultant', 'doctor', ...ROLES, 'root', '') },
    },
    { method: 'GET', path: '/api/v1/admin/stats', weight: 1 },
    {
      method: 'GET',
      path: '/api/v1/admin/conversations',
      weight: 2,
      query: {
        q: fc.oneof(text, fc.constantFrom('%', '_', '\\', '李')),
        limit: fc.oneof(fc.integer({ min: -5, max: 60 }), text),
      },
    },
    { method: 'GET', path: '/api/v1/devices', weight: 1 },
    {
      method: 'POST',
      path: '/api/v1/devices',
      weight: 3,
      body: {
        platform: fc.constantFrom('android', 'ios', 'web', 'windows'),
        device_type: fc.constantFrom('mobile', 'desktop', 'tablet', 'tv'),
        fcm_token: fc.stringMatching(/^[A-Za-z0-9_:.-]{20,60}$/),
        apns_token: fc.stringMatching(/^[0-9a-f]{64}$/),
        web_push: webPush,
      },
    },
    { method: 'DELETE', path: '/api/v1/devices/{device_id}', weight: 2 },
    { method: 'GET', path: '/api/v1/devices/web-push-key', weight: 1 },
    { method: 'GET', path: '/docs', weight: 1 },
    { method: 'GET', path: '/docs/json', weight: 1 },
    { method: 'GET', path: '/docs/yaml', weight: 1 },
    { method: 'GET', path: '/docs/static/{file}', weight: 1 },
  ];
}

/** An upload: fields in or out of order, hostile names and values, a file of an allowed type or not, with or without PNG magic, maybe cut short. */
export function multipart(): fc.Arbitrary<{ bytes: Buffer; boundary: string }> {
  const field = fc.tuple(
    fc.oneof(fc.constantFrom('client_message_id', 'caption', 'duration_ms', 'file'), storableText),
    fc.oneof(text, hostileNumber.map(String)),
  );
  const file = fc.record({
    name: fc.oneof(fc.constantFrom('note.txt', 'a.png', '../../etc/passwd', 'x"y.txt', ''), storableText),
    type: fc.constantFrom(
      'text/plain',
      'image/png',
      'image/jpeg',
      'application/pdf',
      'audio/mpeg',
      'text/html',
      'application/x-msdownload',
      '',
    ),
    content: fc.uint8Array({ maxLength: 256 }),
    magic: fc.boolean(),
  });
  return fc
    .record({
      boundary: fc.constantFrom('----fuzz', 'x', 'b'.repeat(70)),
      fields: fc.array(field, { maxLength: 6 }),
      file: fc.option(file),
      fileFirst: fc.boolean(),
      cut: fc.option(fc.nat()),
    })
    .map(({ boundary, fields, file, fileFirst, cut }) => {
      const parts = fields.map(([name, value]) =>
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
      );
      if (file) {
        const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`;
        const magic = file.magic ? Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) : Buffer.alloc(0);
        const part = Buffer.concat([Buffer.from(head), magic, file.content, Buffer.from('\r\n')]);
        if (fileFirst) parts.unshift(part);
        else parts.push(part);
      }
      const whole = Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
      return { bytes: cut === null ? whole : whole.subarray(0, cut % (whole.length + 1)), boundary };
    });
}
