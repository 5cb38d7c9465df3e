/** Sign-up, starting a consultation, and staff accounts (admin). */
import { AccountSchemas } from '@anmei/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import { hashPassword } from '../../auth/passwords.ts';
import { UsernameTakenError } from '../../db/store.ts';
import type { UserRow } from '../../db/store-types.ts';
import { AppError } from '../../errors.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';
import { userToWire } from '../schemas.ts';

export function accountRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  const createUser = async (input: {
    username: string;
    password: string;
    display_name: string;
    role: UserRow['role'];
  }) => {
    try {
      return await ctx.store.users.create({
        username: input.username,
        displayName: input.display_name,
        role: input.role,
        passwordHash: await hashPassword(input.password),
      });
    } catch (error) {
      if (error instanceof UsernameTakenError)
        throw new AppError('USERNAME_TAKEN', `The username "${input.username}" is taken.`);
      throw error;
    }
  };

  r.post(
    '/api/v1/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Customer sign-up; answers like login',
        ...AccountSchemas.register,
      },
    },
    async (request, reply) => {
      const user = await createUser({ ...request.body, role: 'customer' });
      request.log.info({ userId: user.id }, 'customer signed up');
      return reply.code(201).send({
        access_token: await ctx.tokens.issueAccessToken({ userId: user.id, role: user.role }),
        token_type: 'bearer' as const,
        expires_in: ctx.tokens.accessTtlSeconds,
        user: userToWire(user),
      });
    },
  );

  r.post(
    '/api/v1/conversations',
    {
      onRequest: requireAuth(ctx.tokens, 'customer', 'consultant', 'admin'),
      schema: {
        tags: ['chat'],
        summary:
          'Start a consultation: a customer with a consultant (consultant_id, or the first online consultant, else the first), or staff with customer_id',
        ...AccountSchemas.startConversation,
      },
    },
    async (request, reply) => {
      const auth = signedIn(request);
      const me = await ctx.store.users.findById(auth.userId);
      if (!me) throw new AppError('TOKEN_INVALID', 'The user of this token no longer exists.');
      const pick = async (id: string | undefined, role: UserRow['role']): Promise<UserRow> => {
        if (id) {
          const user = await ctx.store.users.findById(id);
          if (!user || user.role !== role) throw new AppError('USER_NOT_FOUND', `No ${role} with id ${id}.`);
          return user;
        }
        // "Any available": the oldest account of the role that is online now, else the oldest.
        const all = await ctx.store.users.list({ role });
        const online = await ctx.presence.onlineAmong(all.map((u) => u.id));
        const chosen = all.find((u) => online.has(u.id)) ?? all[0];
        if (!chosen) throw new AppError('USER_NOT_FOUND', `There is no ${role} to start a consultation with.`);
        return chosen;
      };
      const customer = me.role === 'customer' ? me : await pick(request.body.customer_id, 'customer');
      const consultant = me.role === 'consultant' ? me : await pick(request.body.consultant_id, 'consultant');
      const title = request.body.title ?? `${customer.displayName}的咨询`;
      const conversation = await ctx.store.conversations.create({
        title,
        createdBy: me.id,
        participants: [customer, consultant].map((u) => ({ userId: u.id, role: u.role })),
      });
      // Both sides' lists change: a durable notice they receive live (or on resume).
      await ctx.broadcasting.broadcastSystemNotification(conversation.id, {
        title: '新咨询',
        message: `${customer.displayName} 与 ${consultant.displayName} 的咨询已开始`,
        type: 'conversation_started',
        // Enough for a client to add the conversation to its list without asking for the list.
        data: {
          title,
          participants: [customer, consultant].map((u) => ({
            user_id: u.id,
            role: u.role,
            display_name: u.displayName,
          })),
        },
      });
      return reply.code(201).send({ id: conversation.id, title, participants: [customer, consultant].map(userToWire) });
    },
  );

  r.post(
    '/api/v1/admin/users',
    {
      onRequest: requireAuth(ctx.tokens, 'admin'),
      schema: {
        tags: ['admin'],
        summary: 'Create an account of any role (staff accounts)',
        ...AccountSchemas.createUser,
      },
    },
    async (request, reply) => {
      const user = await createUser(request.body);
      request.log.info({ userId: user.id, role: user.role }, 'account created by admin');
      return reply.code(201).send(userToWire(user));
    },
  );

  r.get(
    '/api/v1/admin/users',
    {
      onRequest: requireAuth(ctx.tokens, 'admin'),
      schema: {
        tags: ['admin'],
        summary: 'List accounts, optionally of one role, with whether each is online',
        ...AccountSchemas.listUsers,
      },
    },
    async (request) => {
      const users = await ctx.store.users.list(request.query.role ? { role: request.query.role } : {});
      const online = await ctx.presence.onlineAmong(users.map((u) => u.id));
      return { users: users.map((u) => ({ ...userToWire(u), online: online.has(u.id) })) };
    },
  );
}
