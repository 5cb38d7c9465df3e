/**
 * Valid-but-hostile input (issue #15) over real HTTP and a real WebSocket, on PGlite and on
 * Postgres: U+0000 and lone surrogates in anything that reaches the database, positions past the
 * 32-bit columns, a leading U+FEFF. Each is answered with a catalogued 400 (VALIDATION_FAILED /
 * INVALID_FRAME), never 500 / INTERNAL / an ERROR log line, and message content is stored as sent.
 */
import { randomUUID } from 'node:crypto';
import { JSON_MAX_DEPTH, LIMITS } from '@anmei/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LEVEL } from './support/log-capture.ts';
import { createTestSchema, type TestSchema } from './support/postgres-schema.ts';
import { FACIAL, type HttpResult, startTestApp, type TestApp } from './support/test-app.ts';

const NUL = '\u0000';
const LONE = '\ud800';
const BOM = '\ufeff';
const MAX = LIMITS.positionMax;
const TOO_BIG = `must be at most ${MAX} (positions are 32-bit integers)`;

/**
 * An HTTP request that must be refused: what it shows, who sends it (null: no token), method, path,
 * body, and where the refusal points (the path of an `issues` entry, or else text of `detail`).
 */
type Refused = [what: string, as: string | null, method: string, path: string, body: unknown, where: string];

/** A client frame that must be refused, and the start of the `issues` entry naming where. */
type RefusedFrame = [where: string, action: string, data: Record<string, unknown>];

describe.each([{ backend: 'PGlite' }, { backend: 'Postgres' }])('hostile input on $backend', ({ backend }) => {
  let app: TestApp;
  let schema: TestSchema | undefined;
  let conversation: string;
  let chat: string;
  let logMark = 0;

  beforeAll(async () => {
    if (backend === 'Postgres') schema = await createTestSchema();
    app = await startTestApp(schema ? { DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema } : {});
    conversation = app.conversationId(FACIAL);
    chat = `/api/v1/chat/${conversation}`;
  });
  afterAll(async () => {
    await app?.close();
    await schema?.drop();
  });
  beforeEach(() => {
    logMark = app.logs.records.length;
  });
  afterEach(() => {
    // A refused input is the client's mistake: nothing is logged as an ERROR for it.
    const errors = app.logs.records.slice(logMark).filter((r) => r.level >= LEVEL.error);
    expect(errors.map((r) => r.msg)).toEqual([]);
  });

  async function request(as: string | null, method: string, path: string, body?: unknown): Promise<HttpResult> {
    const token = as === null ? undefined : (await app.login(as)).token;
    return app.http(method, path, { ...(token ? { token } : {}), ...(body !== null ? { body } : {}) });
  }

  async function expectRefused([what, as, method, path, body, where]: Refused): Promise<void> {
    const res = await request(as, method, path, body);
    expect([what, res.status, res.body?.code]).toEqual([what, 400, 'VALIDATION_FAILED']);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    if (res.body.issues) expect(res.body.issues, what).toContainEqual(expect.stringMatching(`^${where}: `));
    else expect(res.body.detail, what).toContain(where);
  }

  async function expectFramesRefused(frames: RefusedFrame[], problem: string): Promise<void> {
    const socket = await app.connect('customer_456');
    for (const [i, [where, action, data]] of frames.entries()) {
      const request_id = `hostile-${i}`;
      socket.send({ action, request_id, data });
      const [error] = await socket.waitFor('error', { where: (f) => f.data.request_id === request_id });
      expect([action, error!.data.code, error!.data.issues]).toEqual([
        action,
        'INVALID_FRAME',
        [`${where}: ${problem}`],
      ]);
    }
    expect(socket.closed).toBeNull();
    await socket.close();
  }

  describe('U+0000 in strings that reach the database', () => {
    it('answers every HTTP field, path segment and query value holding U+0000 with VALIDATION_FAILED', async () => {
      const keys = { p256dh: 'A'.repeat(87), auth: 'A'.repeat(22) };
      const device = { platform: 'web', device_type: 'desktop', web_push: { endpoint: `https://x.test/${NUL}`, keys } };
      const notice = { conversation_id: null, title: 't', message: 'm' };
      const signUp = { username: `u_${randomUUID().slice(0, 8)}`, password: 'password1', display_name: `a${NUL}` };
      const mobile = { conversation_id: conversation, title: 't', content: `c${NUL}` };
      const login = { username: `admin${NUL}`, password: 'x' };
      const cases: Refused[] = [
        ['login username', null, 'POST', '/api/v1/auth/login', login, 'body.username'],
        ['sign-up display name', null, 'POST', '/api/v1/auth/register', signUp, 'body.display_name'],
        ['content', 'customer_456', 'POST', `${chat}/send`, { content: `a${NUL}b` }, 'body.content'],
        [
          'client id',
          'customer_456',
          'POST',
          `${chat}/send`,
          { content: 'hi', client_message_id: NUL },
          'body.client_message_id',
        ],
        ['read', 'customer_456', 'POST', `${chat}/read`, { message_ids: [`m${NUL}`] }, 'body.message_ids.0'],
        ['title', 'customer_456', 'POST', '/api/v1/conversations', { title: `t${NUL}` }, 'body.title'],
        ['consultant', 'customer_456', 'POST', '/api/v1/conversations', { consultant_id: NUL }, 'body.consultant_id'],
        ['participant', 'consultant_001', 'POST', `${chat}/participants`, { user_id: NUL }, 'body.user_id'],
        ['history path', 'customer_456', 'GET', '/api/v1/chat/abc%00/messages', null, 'params.conversation_id'],
        ['send path', 'customer_456', 'POST', '/api/v1/chat/abc%00/send', { content: 'hi' }, 'params.conversation_id'],
        ['attachment path', 'customer_456', 'GET', `${chat}/attachments/abc%00`, null, 'params.attachment_id'],
        ['device path', 'customer_456', 'DELETE', '/api/v1/devices/abc%00', null, 'params.device_id'],
        ['query string', 'customer_456', 'GET', `${chat}/messages?after_seq=%00`, null, 'querystring.after_seq'],
        ['Web Push endpoint', 'customer_456', 'POST', '/api/v1/devices', device, 'body.web_push.endpoint'],
        ['notice title', 'admin', 'POST', '/api/v1/admin/notifications', { ...notice, title: NUL }, 'body.title'],
        [
          'notice data',
          'admin',
          'POST',
          '/api/v1/admin/notifications',
          { ...notice, data: { a: [{ b: NUL }] } },
          'body.data.a.0.b',
        ],
        [
          'notice data key',
          'admin',
          'POST',
          '/api/v1/admin/notifications',
          { ...notice, data: { [NUL]: 1 } },
          'body.data',
        ],
        ['mobile notice', 'admin', 'POST', '/api/v1/admin/mobile-notifications', mobile, 'body.content'],
        [
          'direct message',
          'admin',
          'POST',
          '/api/v1/admin/direct-messages',
          { user_id: NUL, content: 'c' },
          'body.user_id',
        ],
        ['admin user path', 'admin', 'GET', '/api/v1/admin/users/u%00/devices', null, 'params.user_id'],
      ];
      for (const c of cases) await expectRefused(c);
    });

    it('answers a NUL in a login password as wrong credentials: the password never reaches the database', async () => {
      const res = await request(null, 'POST', '/api/v1/auth/login', { username: 'admin', password: `demo1234${NUL}` });
      expect([res.status, res.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
    });

    it('answers multipart text fields holding U+0000 with VALIDATION_FAILED, and cuts a long caption between characters', async () => {
      const { token } = await app.login('customer_456');
      const upload = async (fields: Record<string, string>) => {
        const form = new FormData();
        for (const [k, v] of Object.entries(fields)) form.append(k, v);
        form.append('file', new Blob(['plain text'], { type: 'text/plain' }), 'note.txt');
        const headers = { authorization: `Bearer ${token}` };
        const res = await fetch(`${app.baseUrl}${chat}/attachments`, { method: 'POST', headers, body: form });
        return { status: res.status, body: await res.json() };
      };
      for (const name of ['caption', 'client_message_id']) {
        const res = await upload({ [name]: `x${NUL}y` });
        expect([res.status, res.body.code, res.body.detail]).toEqual([
          400,
          'VALIDATION_FAILED',
          `${name} must not contain U+0000 (NUL).`,
        ]);
      }
      // Captions are cut at 2000 characters; a cut through an emoji's surrogate pair drops the whole emoji.
      const res = await upload({ caption: `${'a'.repeat(1999)}😀`, client_message_id: randomUUID() });
      expect([res.status, res.body.message.content]).toEqual([200, 'a'.repeat(1999)]);
    });

    it(`answers notice data nested deeper than ${JSON_MAX_DEPTH} levels with VALIDATION_FAILED (storing it would overflow the stack)`, async () => {
      // As text: JSON.stringify itself overflows at this depth, which is why the server refuses it.
      const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
      const notice = `{"conversation_id":null,"title":"t","message":"m","data":{"deep":${deep}}}`;
      const where = `body.data.deep${'.0'.repeat(JSON_MAX_DEPTH - 1)}`;
      await expectRefused(['deep data', 'admin', 'POST', '/api/v1/admin/notifications', notice, where]);
    });

    it('answers every client frame holding U+0000 with INVALID_FRAME and keeps the socket open', async () => {
      const send = { conversation_id: conversation, client_message_id: randomUUID(), content: 'hi' };
      await expectFramesRefused(
        [
          ['data.content', 'send_message', { ...send, content: `a${NUL}` }],
          ['data.client_message_id', 'send_message', { ...send, client_message_id: `c${NUL}` }],
          ['data.conversation_id', 'send_message', { ...send, conversation_id: `c${NUL}` }],
          ['data.conversation_id', 'typing', { conversation_id: `c${NUL}`, is_typing: true }],
          ['data.message_ids.0', 'read', { conversation_id: conversation, message_ids: [`m${NUL}`] }],
          [
            'data.conversations.0.conversation_id',
            'resume',
            { conversations: [{ conversation_id: `c${NUL}`, last_seq: 0, last_event_seq: 0 }] },
          ],
        ],
        'must not contain U+0000 (NUL)',
      );
    });
  });

  describe('lone surrogates', () => {
    it('answers text holding a lone surrogate with VALIDATION_FAILED over HTTP and INVALID_FRAME over the socket', async () => {
      const signUp = { username: `u_${randomUUID().slice(0, 8)}`, password: 'password1', display_name: '\udc00a' };
      const notice = { conversation_id: null, title: 't', message: 'm', data: { a: LONE } };
      const cases: Refused[] = [
        ['content', 'customer_456', 'POST', `${chat}/send`, { content: `a${LONE}b` }, 'body.content'],
        ['title', 'customer_456', 'POST', '/api/v1/conversations', { title: `t${LONE}` }, 'body.title'],
        ['sign-up display name', null, 'POST', '/api/v1/auth/register', signUp, 'body.display_name'],
        ['notice data', 'admin', 'POST', '/api/v1/admin/notifications', notice, 'body.data.a'],
        // Percent-encoded, a surrogate is invalid UTF-8: the router refuses the path before any route.
        ['path', 'customer_456', 'GET', '/api/v1/chat/abc%ED%A0%80/messages', null, 'not UTF-8'],
      ];
      for (const c of cases) await expectRefused(c);
      const send = { conversation_id: conversation, client_message_id: randomUUID(), content: `x${LONE}` };
      await expectFramesRefused(
        [['data.content', 'send_message', send]],
        'must not contain a lone UTF-16 surrogate (not valid Unicode)',
      );
    });

    it('stores a well-formed surrogate pair (an emoji) as sent', async () => {
      const res = await request('customer_456', 'POST', `${chat}/send`, { content: '好😀' });
      expect([res.status, res.body.message.content]).toEqual([200, '好😀']);
    });
  });

  describe(`positions beyond ${MAX} (the columns are 32-bit integers)`, () => {
    it('answers after_seq / before_seq past the range with VALIDATION_FAILED, and accepts the largest position', async () => {
      for (const query of [`after_seq=${MAX + 1}`, `before_seq=${MAX + 1}`, `after_seq=${2 ** 53}`, 'after_seq=-1']) {
        const where = `querystring.${query.split('=')[0]}`;
        await expectRefused([query, 'customer_456', 'GET', `${chat}/messages?${query}`, null, where]);
      }
      const above = await request('customer_456', 'GET', `${chat}/messages?after_seq=${MAX}`);
      expect([above.status, above.body.messages]).toEqual([200, []]);
      const below = await request('customer_456', 'GET', `${chat}/messages?before_seq=${MAX}&limit=1`);
      expect([below.status, below.body.messages.length]).toEqual([200, 1]);
    });

    it('answers each resume position past the range with INVALID_FRAME, and resumes from the largest position', async () => {
      const seen = { conversation_id: conversation, last_seq: 0, last_event_seq: 0 };
      await expectFramesRefused(
        [
          ['data.conversations.0.last_seq', 'resume', { conversations: [{ ...seen, last_seq: MAX + 1 }] }],
          ['data.conversations.0.last_event_seq', 'resume', { conversations: [{ ...seen, last_event_seq: 2 ** 53 }] }],
          ['data.user_seq', 'resume', { conversations: [], user_seq: MAX + 1 }],
          ['data.global_seq', 'resume', { conversations: [], global_seq: 2 ** 31 }],
        ],
        TOO_BIG,
      );
      const socket = await app.connect('customer_456');
      const conversations = [{ conversation_id: conversation, last_seq: MAX, last_event_seq: MAX }];
      socket.send({ action: 'resume', request_id: 'edge', data: { conversations, user_seq: MAX, global_seq: MAX } });
      const [resumed] = await socket.waitFor('resumed', { where: (f) => f.data.request_id === 'edge' });
      expect(resumed!.data.conversations).toEqual([
        { conversation_id: conversation, status: 'recovered', replayed_messages: 0, replayed_events: 0 },
      ]);
      expect(socket.all('error')).toEqual([]);
      await socket.close();
    });
  });

  describe('a U+FEFF in message content', () => {
    /** Sends `content` over HTTP and over the socket; what the sender, a recipient and the history got back. */
    async function roundTrip(content: string) {
      const consultant = await app.connect('consultant_001');
      const customer = await app.connect('customer_456');
      const sent = await request('customer_456', 'POST', `${chat}/send`, { content, client_message_id: randomUUID() });
      expect(sent.status).toBe(200);
      const data = { conversation_id: conversation, client_message_id: randomUUID(), content };
      customer.send({ action: 'send_message', request_id: 'feff', data });
      const [ack] = await customer.waitFor('ack', { where: (f) => f.data.request_id === 'feff' });
      const ids = [sent.body.message_id, ack!.data.message_id];
      const live = await consultant.waitFor('new_message', { count: 2, where: (f) => ids.includes(f.data.id) });
      const history = await request('customer_456', 'GET', `${chat}/messages?after_seq=${sent.body.seq - 1}&limit=2`);
      await Promise.all([consultant.close(), customer.close()]);
      return {
        answered: sent.body.message.content as string,
        live: live.map((f) => f.data.content),
        history: history.body.messages.map((m: { content: string }) => m.content) as string[],
      };
    }
    const everywhere = (content: string) => ({
      answered: content,
      live: [content, content],
      history: [content, content],
    });

    it('keeps a U+FEFF inside the content, and whitespace-only content, as sent', async () => {
      expect(await roundTrip(`a${BOM}b`)).toEqual(everywhere(`a${BOM}b`));
      expect(await roundTrip(' \t ')).toEqual(everywhere(' \t '));
    });

    if (backend === 'Postgres') {
      it('stores and returns a leading U+FEFF exactly as sent', async () => {
        expect(await roundTrip(`${BOM}你好`)).toEqual(everywhere(`${BOM}你好`));
      });
    } else {
      // Known PGlite limitation (docs/protocol.md, Limits): its protocol reader decodes every text
      // value with `new TextDecoder('utf-8')`, which drops a leading BOM. The bytes are stored; the
      // read loses it. When this fails after a PGlite upgrade, the bug is fixed: expect it as sent.
      it('loses a leading U+FEFF when PGlite reads the stored text back (its TextDecoder strips a BOM)', async () => {
        expect(await roundTrip(`${BOM}你好`)).toEqual(everywhere('你好'));
      });
    }
  });
});
