/** Conversations, history, send and read over HTTP (the seed's POST /chat/{id}/send and friends). */
import { ClientMessageId, Id, LIMITS, MessageContent, ROLES } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../app-context.ts';
import { messageToWire } from '../../chat/wire.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';
import {
  CommonProblems,
  ConversationIdParams,
  MessageSchema,
  ProblemSchema,
  positionQuery,
  SentSchema,
  sentBody,
} from '../schemas.ts';

const problems = CommonProblems;

export function chatRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const onRequest = requireAuth(ctx.tokens);

  r.get(
    '/api/v1/conversations',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: 'My conversations, newest activity first, with unread counts and who is online',
        response: {
          200: z.object({
            conversations: z.array(
              z.object({
                id: z.string(),
                title: z.string(),
                last_seq: z.number(),
                /** Newest conversation event position: a client's starting lastEventSeq for track(). */
                last_event_seq: z.number(),
                unread_count: z.number(),
                last_message: MessageSchema.nullable(),
                participants: z.array(
                  z.object({
                    user_id: z.string(),
                    role: z.enum(ROLES),
                    display_name: z.string(),
                    last_read_seq: z.number(),
                    online: z.boolean(),
                  }),
                ),
              }),
            ),
          }),
          401: ProblemSchema,
        },
      },
    },
    async (request) => {
      const user = signedIn(request);
      const summaries = await ctx.store.conversations.listForUser(user.userId);
      const everyone = [...new Set(summaries.flatMap((s) => s.participants.map((p) => p.userId)))];
      const online = await ctx.presence.onlineAmong(everyone);
      return {
        conversations: summaries.map((s) => ({
          id: s.id,
          title: s.title,
          last_seq: s.lastSeq,
          last_event_seq: s.lastEventSeq,
          unread_count: s.unreadCount,
          last_message: s.lastMessage ? messageToWire(s.lastMessage) : null,
          participants: s.participants.map((p) => ({
            user_id: p.userId,
            role: p.role,
            display_name: p.displayName,
            last_read_seq: p.lastReadSeq,
            online: online.has(p.userId),
          })),
        })),
      };
    },
  );

  r.get(
    '/api/v1/chat/:conversation_id/messages',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: 'Message history paged by seq (ascending). before_seq pages back; after_seq catches up.',
        params: ConversationIdParams,
        querystring: z.object({
          before_seq: positionQuery(1).optional(),
          after_seq: positionQuery().optional(),
          limit: z.coerce.number().int().min(1).max(LIMITS.historyPageMax).default(50),
        }),
        response: { 200: z.object({ messages: z.array(MessageSchema), has_more: z.boolean() }), ...problems },
      },
    },
    async (request) => {
      const user = signedIn(request);
      const { conversation_id: conversationId } = request.params;
      await ctx.chat.assertParticipant(conversationId, user.userId);
      const { before_seq, after_seq, limit } = request.query;
      const bounds = {
        ...(before_seq !== undefined ? { beforeSeq: before_seq } : {}),
        ...(after_seq !== undefined ? { afterSeq: after_seq } : {}),
      };
      const page = await ctx.store.messages.history(conversationId, { ...bounds, limit });
      // A full page may have more beyond it: look for one message past its edge. (Asking for
      // limit + 1 instead cannot work at the maximum page size: the store clamps to that maximum.)
      let hasMore = false;
      const first = page[0];
      const last = page.at(-1);
      if (page.length === limit && first && last) {
        // Catching up continues above the newest row (still below before_seq); paging back, below the oldest.
        const beyond = after_seq !== undefined ? { ...bounds, afterSeq: last.seq } : { beforeSeq: first.seq };
        hasMore = (await ctx.store.messages.history(conversationId, { ...beyond, limit: 1 })).length > 0;
      }
      return { messages: page.map(messageToWire), has_more: hasMore };
    },
  );

  r.post(
    '/api/v1/chat/:conversation_id/send',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: 'Store a text message, then broadcast it to the other participants',
        params: ConversationIdParams,
        body: z.strictObject({
          content: MessageContent,
          client_message_id: ClientMessageId.optional(),
        }),
        response: {
          200: SentSchema,
          ...problems,
          409: ProblemSchema,
        },
      },
    },
    async (request) => {
      const user = signedIn(request);
      const { message, duplicate } = await ctx.chat.send(user, {
        conversationId: request.params.conversation_id,
        clientMessageId: request.body.client_message_id ?? null,
        content: request.body.content,
      });
      return sentBody(message, duplicate);
    },
  );

  r.post(
    '/api/v1/chat/:conversation_id/read',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: 'Mark messages (and everything before them) read; the others get a read_status frame',
        params: ConversationIdParams,
        body: z.strictObject({ message_ids: z.array(Id).min(1).max(LIMITS.readReceiptMaxIds) }),
        response: { 200: z.object({ last_read_seq: z.number(), message_ids: z.array(z.string()) }), ...problems },
      },
    },
    async (request) => {
      const user = signedIn(request);
      const result = await ctx.chat.markRead(user, request.params.conversation_id, request.body.message_ids);
      return { last_read_seq: result.lastReadSeq, message_ids: result.messageIds };
    },
  );

  r.post(
    '/api/v1/chat/:conversation_id/participants',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: 'Add a user (e.g. a doctor) to the conversation; consultants, doctors in it, and admins may',
        params: ConversationIdParams,
        body: z.strictObject({ user_id: Id }),
        response: {
          200: z.object({
            added: z.boolean(),
            user: z.object({ id: z.string(), role: z.enum(ROLES), display_name: z.string() }),
          }),
          ...problems,
        },
      },
    },
    async (request) => {
      const user = signedIn(request);
      const result = await ctx.chat.addParticipant(user, request.params.conversation_id, request.body.user_id);
      return {
        added: result.added,
        user: { id: result.user.id, role: result.user.role, display_name: result.user.displayName },
      };
    },
  );
}
