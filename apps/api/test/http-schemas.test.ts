/**
 * One schema source for HTTP (issue #18): every route's schemas come from @anmei/protocol,
 * /docs is generated from them, and a message has one shape whether it comes from HTTP history,
 * a WS replay or a live frame; the HTTP send answer and the WS ack share MessageSent.
 */
import { randomUUID } from 'node:crypto';
import { HistoryResponse, MessageSent, SentResponse } from '@anmei/protocol';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { checkedRoutes, requireProtocolSchemas } from '../src/http/route-schemas.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.close();
});

describe('route schemas', () => {
  it('gives every registered route its schemas from @anmei/protocol, with a success answer unless hidden', () => {
    const routes = checkedRoutes(app.built.app);
    expect(routes.length).toBeGreaterThan(20);
    const undocumented = routes.filter((r) => r.hidden).map((r) => `${r.method} ${r.url}`);
    // Hidden: the documentation's own pages, Prometheus text, CORS preflights, and /ready (not in
    // /docs yet, but it has schemas).
    expect(undocumented.filter((r) => !/^(GET|HEAD) \/(docs|metrics|ready)\b|^OPTIONS \*$/.test(r))).toEqual([]);
    const withoutSuccess = routes.filter((r) => !r.hidden && !r.statuses.some((s) => s.startsWith('2')));
    expect(withoutSuccess).toEqual([]);
    expect(routes).toContainEqual(
      expect.objectContaining({ method: 'GET', url: '/ready', statuses: expect.arrayContaining(['200', '503']) }),
    );
  });

  it('refuses at registration a schema written outside the protocol package, naming the route and the fix', async () => {
    const server = Fastify();
    requireProtocolSchemas(server);
    expect(() =>
      server.post(
        '/inline',
        { schema: { body: z.object({ a: z.string() }), response: { 200: SentResponse } } },
        () => ({}),
      ),
    ).toThrow(
      `POST /inline: its body schema is not one of @anmei/protocol's; declare it in packages/protocol/src/http/ and use it from @anmei/protocol (docs/architecture.md, "HTTP schemas").`,
    );
    expect(() => server.get('/inline-answer', { schema: { response: { 200: z.object({}) } } }, () => ({}))).toThrow(
      "GET /inline-answer: its 200 answer schema is not one of @anmei/protocol's",
    );
    expect(() => server.get('/no-answer', () => ({}))).toThrow(
      'GET /no-answer: it has no schema for its success answer (schema.response[200])',
    );
    expect(() => server.get('/hidden', { schema: { hide: true } }, () => 'text')).not.toThrow();
    await server.close();
  });
});

describe('/docs/json', () => {
  type Json = Record<string, any>;
  let paths: Json;
  beforeAll(async () => {
    const res = await app.http('GET', '/docs/json');
    expect(res.status).toBe(200);
    paths = res.body.paths;
  });
  const answer = (path: string, method: string, status: string): Json =>
    paths[path][method].responses[status].content['application/json'].schema;

  it('documents the conversation list with last_event_seq and messages with sender_role', () => {
    const summary = answer('/api/v1/conversations', 'get', '200').properties.conversations.items;
    expect(summary.required).toEqual(expect.arrayContaining(['last_event_seq', 'unread_count', 'participants']));
    expect(summary.properties.last_event_seq).toMatchObject({ type: 'number' });
    const message = answer('/api/v1/chat/{conversation_id}/messages', 'get', '200').properties.messages.items;
    expect(Object.keys(message.properties)).toContain('sender_role');
  });

  it('documents the send body and answer from the shared send_message input and MessageSent', () => {
    const body = paths['/api/v1/chat/{conversation_id}/send'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties).sort()).toEqual(['client_message_id', 'content', 'message_type']);
    expect(body.required).toEqual(['content']);
    expect(body.additionalProperties).toBe(false);
    const sent = answer('/api/v1/chat/{conversation_id}/send', 'post', '200');
    expect(Object.keys(sent.properties).sort()).toEqual(
      ['status', 'message', ...Object.keys(MessageSent.shape)].sort(),
    );
    expect(answer('/api/v1/chat/{conversation_id}/attachments', 'post', '200')).toEqual(sent);
  });

  it('documents the answers that had none before: admin stats, health, and problems', () => {
    expect(Object.keys(answer('/api/v1/admin/stats', 'get', '200').properties)).toEqual(
      expect.arrayContaining(['online_users', 'connections', 'push']),
    );
    expect(answer('/health', 'get', '200').properties.status.enum).toEqual(['ok', 'degraded', 'draining']);
    expect(answer('/api/v1/auth/login', 'post', '401').properties.code.enum).toContain('INVALID_CREDENTIALS');
  });
});

describe('one message shape for HTTP, replay and live frames', () => {
  it('gives history, replayed and live messages the same fields, sender_role included', async () => {
    const store = app.built.ctx.store;
    const [customer, consultant] = await Promise.all(
      ['customer_456', 'consultant_001'].map((u) => store.users.findByUsername(u)),
    );
    const conversation = await store.conversations.create({
      title: `shapes ${randomUUID()}`,
      createdBy: customer!.id,
      participants: [customer!, consultant!].map((u) => ({ userId: u.id, role: u.role })),
    });
    const conversationId = conversation.id;
    const customerSocket = await app.connect('customer_456');
    const consultantSocket = await app.connect('consultant_001');

    // The customer over WS: the ack's data is MessageSent plus the request's id, nothing else.
    const clientMessageId = randomUUID();
    customerSocket.send({
      action: 'send_message',
      request_id: 'r1',
      data: { conversation_id: conversationId, client_message_id: clientMessageId, content: '你好' },
    });
    const [ack] = await customerSocket.waitFor('ack');
    expect(ack?.data).toEqual({ request_id: 'r1', ...MessageSent.parse(ack?.data) });
    const [live] = await consultantSocket.waitFor('new_message');
    expect(live?.data.sender_role).toBe('customer');

    // The consultant over HTTP: the same MessageSent, then the message the customer gets live.
    const { token } = await app.login('consultant_001');
    const sent = await app.http('POST', `/api/v1/chat/${conversationId}/send`, { token, body: { content: '您好' } });
    expect(sent.status).toBe(200);
    expect(Object.keys(MessageSent.parse(sent.body))).toEqual(Object.keys(MessageSent.parse(ack?.data)));
    const [reply] = await customerSocket.waitFor('consultation_reply');
    expect(reply?.data.message).toEqual(sent.body.message);
    expect(sent.body.message.sender_role).toBe('consultant');

    const history = await app.http('GET', `/api/v1/chat/${conversationId}/messages`, {
      token: (await app.login('customer_456')).token,
    });
    expect(HistoryResponse.parse(history.body).messages).toEqual([live?.data, reply?.data.message]);

    const list = await app.http('GET', '/api/v1/conversations', { token });
    const summary = list.body.conversations.find((c: { id: string }) => c.id === conversationId);
    expect(summary.last_message).toEqual(reply?.data.message);

    // A reconnecting customer gets both replayed as new_message, in the same shape.
    const { token: customerToken } = await app.login('customer_456');
    const ticket = await app.ticket(customerToken);
    const resumed = new TestSocket(new WebSocket(`${app.wsUrl}?ticket=${ticket}&device_type=desktop&resume=1`));
    try {
      await resumed.waitFor('connected');
      resumed.send({
        action: 'resume',
        data: { conversations: [{ conversation_id: conversationId, last_seq: 0, last_event_seq: 0 }] },
      });
      await resumed.waitFor('resumed');
      expect(resumed.all('new_message').map((f) => f.data)).toEqual(history.body.messages);
    } finally {
      await resumed.close();
    }
  });
});
