/**
 * The web app's API types are the protocol's HTTP schemas (issue #18: one schema source): the
 * names lib/api.ts exports and what its calls send and resolve to are checked against them by
 * the type checker (`npx tsc -p tsconfig.json`), so a schema change the web has not followed
 * fails there. The runtime part only proves the module and the schemas load together.
 */
import {
  type ConversationListResponse,
  type ConversationSummary,
  HistoryResponse,
  type LoginBody,
  type MessagePayload,
  type ReadBody,
  type ReadResponse,
  type RegisterBody,
  type SentResponse,
  type StartConversationResponse,
  type TokenResponse,
} from '@anmei/protocol';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import * as api from '../src/lib/api.ts';

describe('apps/web/src/lib/api.ts types', () => {
  it('names the protocol schemas’ types', () => {
    expectTypeOf<api.WireMessage>().toEqualTypeOf<MessagePayload>();
    expectTypeOf<api.ConversationSummary>().toEqualTypeOf<
      z.output<typeof ConversationListResponse>['conversations'][number]
    >();
    expectTypeOf<api.ConversationSummary>().toHaveProperty('last_event_seq').toEqualTypeOf<number>();
    expectTypeOf<api.Participant>().toEqualTypeOf<ConversationSummary['participants'][number]>();
    expectTypeOf<api.LoginResult>().toEqualTypeOf<TokenResponse>();
    expectTypeOf<api.SendResponse>().toEqualTypeOf<z.output<typeof SentResponse>>();
    // Messages may carry sender_role wherever they come from (HTTP, replay, live).
    expectTypeOf<api.WireMessage>().toHaveProperty('sender_role');
  });

  it('sends the protocol’s request bodies and resolves to its answers', () => {
    expectTypeOf(api.login).returns.resolves.toEqualTypeOf<TokenResponse>();
    expectTypeOf(api.register).parameter(0).toEqualTypeOf<RegisterBody>();
    expectTypeOf(api.register).returns.resolves.toEqualTypeOf<TokenResponse>();
    expectTypeOf(api.conversations).returns.resolves.toEqualTypeOf<z.output<typeof ConversationListResponse>>();
    expectTypeOf(api.startConversation).returns.resolves.toEqualTypeOf<StartConversationResponse>();
    expectTypeOf(api.history).returns.resolves.toEqualTypeOf<z.output<typeof HistoryResponse>>();
    expectTypeOf(api.markReadHttp).returns.resolves.toEqualTypeOf<ReadResponse>();
    expectTypeOf(api.uploadAttachment).returns.toHaveProperty('promise').resolves.toEqualTypeOf<SentResponse>();
    // The login body lib/api.ts builds is a LoginBody, a read body a ReadBody (`satisfies` there).
    expectTypeOf<{ username: string; password: string }>().toEqualTypeOf<LoginBody>();
    expectTypeOf<{ message_ids: string[] }>().toEqualTypeOf<ReadBody>();
  });

  it('loads with the protocol schemas it names', () => {
    const message = {
      id: 'm1',
      conversation_id: 'c1',
      seq: 1,
      sender_id: 'u1',
      sender_role: 'customer',
      client_message_id: null,
      message_type: 'text',
      content: '你好',
      metadata: null,
      created_at: '2030-01-01T08:00:00.000Z',
    } satisfies api.WireMessage;
    expect(HistoryResponse.parse({ messages: [message], has_more: false }).messages[0]).toEqual(message);
    expect(api.attachmentUrl({ url: '/api/v1/chat/c1/attachments/a1' })).toBe('/api/v1/chat/c1/attachments/a1');
  });
});
