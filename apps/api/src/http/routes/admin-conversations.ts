/**
 * GET /api/v1/admin/conversations (issue #17, item 6): admins find a conversation by part of its
 * title or of a participant's display name or username (the notification form's picker), instead
 * of pasting its id. Admin only; at most ADMIN_CONVERSATION_SEARCH_MAX (50) answers.
 */
import { AdminConversationsQuery, AdminConversationsResponse, CommonProblems } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import { requireAuth } from '../auth-guard.ts';

export function adminConversationRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/admin/conversations',
    {
      onRequest: requireAuth(ctx.tokens, 'admin'),
      schema: {
        tags: ['admin'],
        summary: 'Conversations whose title or a participant (display name, username) contains q; newest first',
        querystring: AdminConversationsQuery,
        response: { 200: AdminConversationsResponse, ...CommonProblems },
      },
    },
    async (request) => {
      const { q, limit } = request.query;
      const found = await ctx.store.conversations.search(q, limit);
      return {
        conversations: found.map((c) => ({
          id: c.id,
          title: c.title,
          created_at: c.createdAt.toISOString(),
          last_seq: c.lastSeq,
          participants: c.participants.map((p) => ({
            user_id: p.userId,
            username: p.username,
            display_name: p.displayName,
            role: p.role,
          })),
        })),
      };
    },
  );
}
