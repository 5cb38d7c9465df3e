/** Login, who-am-I and WebSocket tickets. */
import { AuthSchemas } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../../auth/passwords.ts';
import { AppError } from '../../errors.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';
import { userToWire } from '../schemas.ts';

export function authRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange username and password for an access token',
        ...AuthSchemas.login,
      },
    },
    async (request) => {
      const user = await ctx.store.users.findByUsername(request.body.username);
      // Verify against a dummy hash for unknown users so timing does not reveal which usernames exist.
      const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), request.body.password);
      if (!user || !ok) throw new AppError('INVALID_CREDENTIALS');
      request.log.info({ userId: user.id, role: user.role }, 'login');
      return {
        access_token: await ctx.tokens.issueAccessToken({ userId: user.id, role: user.role }),
        token_type: 'bearer' as const,
        expires_in: ctx.tokens.accessTtlSeconds,
        user: userToWire(user),
      };
    },
  );

  r.get(
    '/api/v1/auth/me',
    {
      onRequest: requireAuth(ctx.tokens),
      schema: { tags: ['auth'], summary: 'The signed-in user', ...AuthSchemas.me },
    },
    async (request) => {
      const auth = signedIn(request);
      const user = await ctx.store.users.findById(auth.userId);
      if (!user) throw new AppError('TOKEN_INVALID', 'The user of this token no longer exists.');
      return userToWire(user);
    },
  );

  r.post(
    '/api/v1/auth/password',
    {
      onRequest: requireAuth(ctx.tokens),
      schema: {
        tags: ['auth'],
        summary:
          'Change my password (the current one confirms it). Access tokens already issued stay valid until they expire (ACCESS_TOKEN_TTL)',
        ...AuthSchemas.changePassword,
      },
    },
    async (request, reply) => {
      const auth = signedIn(request);
      const user = await ctx.store.users.findById(auth.userId);
      if (!user) throw new AppError('TOKEN_INVALID', 'The user of this token no longer exists.');
      if (!(await verifyPassword(user.passwordHash, request.body.current_password)))
        throw new AppError('CURRENT_PASSWORD_WRONG');
      await ctx.store.users.setPasswordHash(user.id, await hashPassword(request.body.new_password));
      request.log.info({ userId: user.id }, 'password changed');
      return reply.code(204).send(null);
    },
  );

  r.post(
    '/api/v1/ws/ticket',
    {
      onRequest: requireAuth(ctx.tokens),
      schema: {
        tags: ['auth'],
        summary: 'A single-use ticket for the WebSocket upgrade (valid WS_TICKET_TTL seconds, default 30)',
        ...AuthSchemas.ticket,
      },
    },
    async (request) => {
      const auth = signedIn(request);
      return {
        ticket: await ctx.tokens.issueTicket(auth),
        expires_in: ctx.tokens.ticketTtlSeconds,
        ws_path: '/api/v1/ws',
        role: auth.role,
      };
    },
  );
}
