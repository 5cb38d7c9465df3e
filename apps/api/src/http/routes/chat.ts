/** Conversations, history, send and read over HTTP (the seed's POST /chat/{id}/send and friends). */
import { ChatSchemas } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import { messageToWire, rolesOf } from '../../chat/wire.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';
import { sentBody } from '../schemas.ts';

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
        ...ChatSchemas.listConversations,
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
          last_message: s.lastMessage
            ? messageToWire(s.lastMessage, s.participants.find((p) => p.userId === s.lastMessage?.senderId)?.role)
            : null,
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
        ...ChatSchemas.history,
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
      // The cached participant list the participant check just read: no join on messages.
      const roles = rolesOf(await ctx.participants.of(conversationId));
      return { messages: page.map((m) => messageToWire(m, roles.get(m.senderId))), has_more: hasMore };
    },
  );

  r.post(
    '/api/v1/chat/:conversation_id/send',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: 'Store a text message, then broadcast it to the other participants',
        ...ChatSchemas.send,
      },
    },
    async (request) => {
      const user = signedIn(request);
      const { message, duplicate } = await ctx.chat.send(user, {
        conversationId: request.params.conversation_id,
        clientMessageId: request.body.client_message_id ?? null,
        content: request.body.content,
      });
      return sentBody(message, duplicate, user.role);
    },
  );

  r.post(
    '/api/v1/chat/:conversation_id/read',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: 'Mark messages (and everything before them) read; the others get a read_status frame',
        ...ChatSchemas.read,
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
        ...ChatSchemas.addParticipant,
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
