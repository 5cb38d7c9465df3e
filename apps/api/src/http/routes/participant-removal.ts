/** DELETE /api/v1/chat/:conversation_id/participants/:user_id: take a doctor or consultant out. */
import { CommonProblems, ParticipantParams, ParticipantRemovalResponse } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';

export function participantRemovalRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.delete(
    '/api/v1/chat/:conversation_id/participants/:user_id',
    {
      onRequest: requireAuth(ctx.tokens),
      schema: {
        tags: ['chat'],
        summary:
          'Remove a doctor or consultant from the conversation; consultants, doctors in it, and admins may (never the customer)',
        params: ParticipantParams,
        response: { 200: ParticipantRemovalResponse, ...CommonProblems },
      },
    },
    async (request) => {
      const { conversation_id: conversationId, user_id: userId } = request.params;
      const result = await ctx.chat.removeParticipant(signedIn(request), conversationId, userId);
      return {
        removed: result.removed,
        user: { id: result.user.id, role: result.user.role, display_name: result.user.displayName },
      };
    },
  );
}
