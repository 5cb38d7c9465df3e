/** PATCH /api/v1/chat/:conversation_id: rename a conversation; everyone in it gets a notice. */
import {
  CommonProblems,
  ConversationIdParams,
  ConversationTitleBody,
  ConversationTitleResponse,
} from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';

export function conversationTitleRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.patch(
    '/api/v1/chat/:conversation_id',
    {
      onRequest: requireAuth(ctx.tokens),
      schema: {
        tags: ['chat'],
        summary: "Change the conversation's title (participants and admins); everyone in it gets a notice",
        params: ConversationIdParams,
        body: ConversationTitleBody,
        response: { 200: ConversationTitleResponse, ...CommonProblems },
      },
    },
    async (request) => {
      const { conversation_id: id } = request.params;
      const result = await ctx.chat.rename(signedIn(request), id, request.body.title);
      return { id, ...result };
    },
  );
}
