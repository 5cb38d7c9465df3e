/** Bearer-token authentication for HTTP routes. */
import type { Role } from '@anmei/protocol';
import type { FastifyRequest } from 'fastify';
import type { AuthUser, TokenService } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';

/** Users already verified for a request (by the route's onRequest hook), so a handler does not verify twice. */
const verified = new WeakMap<FastifyRequest, AuthUser>();

export async function authenticate(request: FastifyRequest, tokens: TokenService): Promise<AuthUser> {
  const known = verified.get(request);
  if (known) return known;
  const header = request.headers.authorization;
  if (!header)
    throw new AppError(
      'UNAUTHENTICATED',
      'Send "Authorization: Bearer <access_token>" (from POST /api/v1/auth/login).',
    );
  // The scheme is case-insensitive (RFC 7235 §2.1); login itself answers token_type "bearer".
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/i.exec(header);
  if (!match?.[1]) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <access_token>".');
  const user = await tokens.verifyAccessToken(match[1]);
  verified.set(request, user);
  return user;
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
    const user = await authenticate(request, tokens);
    if (roles.length > 0) requireRole(user, ...roles);
  };
}
