/**
 * Bearer-token authentication for HTTP routes. A route's `onRequest: requireAuth(...)` verifies
 * the token once, before the body is read, and decorates the request with `request.user`;
 * handlers read that decoration (through `signedIn`) and never verify again.
 */
import type { Role } from '@anmei/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthUser, TokenService } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller; set by `requireAuth` on routes that use it, null elsewhere. */
    user: AuthUser | null;
  }
}

/** Registers the `request.user` decoration (once, in the composition root). */
export function decorateUser(app: FastifyInstance): void {
  app.decorateRequest('user', null);
}

async function verify(request: FastifyRequest, tokens: TokenService): Promise<AuthUser> {
  const header = request.headers.authorization;
  if (!header)
    throw new AppError(
      'UNAUTHENTICATED',
      'Send "Authorization: Bearer <access_token>" (from POST /api/v1/auth/login).',
    );
  // The scheme is case-insensitive (RFC 7235 §2.1); login itself answers token_type "bearer".
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/i.exec(header);
  if (!match?.[1]) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <access_token>".');
  return tokens.verifyAccessToken(match[1]);
}

export function requireRole(user: AuthUser, ...roles: Role[]): void {
  if (!roles.includes(user.role)) throw new AppError('FORBIDDEN', `This needs one of the roles: ${roles.join(', ')}.`);
}

/**
 * Route `onRequest` hook: authenticate (and, given roles, authorise) BEFORE the body is read
 * and validated, so a caller without the right credentials gets 401/403, never a 400/413/415
 * that describes the body the route expects.
 */
export function requireAuth(tokens: TokenService, ...roles: Role[]) {
  return async (request: FastifyRequest): Promise<void> => {
    const user = await verify(request, tokens);
    if (roles.length > 0) requireRole(user, ...roles);
    request.user = user;
  };
}

/** The caller of a route guarded by `requireAuth`; a route without the guard is a bug, answered 401. */
export function signedIn(request: FastifyRequest): AuthUser {
  if (!request.user) throw new AppError('UNAUTHENTICATED', 'This route needs "Authorization: Bearer <access_token>".');
  return request.user;
}
