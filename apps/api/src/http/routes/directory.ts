/** GET /api/v1/directory: staff accounts to pick from (a consultant to start with, a doctor to add). */
import { CommonProblems, DIRECTORY_ACCESS, DirectoryQuery, DirectoryResponse } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import { AppError } from '../../errors.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';

export function directoryRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/directory',
    {
      onRequest: requireAuth(ctx.tokens),
      schema: {
        tags: ['chat'],
        summary:
          'Consultants (anyone signed in) or doctors (staff and admins) with whether each is online, online first',
        querystring: DirectoryQuery,
        response: { 200: DirectoryResponse, ...CommonProblems },
      },
    },
    async (request) => {
      const { role: caller } = signedIn(request);
      const { role } = request.query;
      if (!DIRECTORY_ACCESS[caller].includes(role)) {
        throw new AppError(
          'FORBIDDEN',
          `A ${caller} may list only: ${DIRECTORY_ACCESS[caller].join(', ')} (asked for role=${role}).`,
        );
      }
      const users = await ctx.store.users.list({ role });
      const online = await ctx.presence.onlineAmong(users.map((u) => u.id));
      const entries = users.map((u) => ({
        id: u.id,
        display_name: u.displayName,
        role: u.role,
        online: online.has(u.id),
      }));
      // Stable sort: online accounts first, each group in the store's order (oldest account first).
      return { users: [...entries.filter((e) => e.online), ...entries.filter((e) => !e.online)] };
    },
  );
}
