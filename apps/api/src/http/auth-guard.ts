/** Bearer-token authentication for HTTP routes. */
import type { Role } from '@anmei/protocol';
import type { FastifyRequest } from 'fastify';
import type { AuthUser, TokenService } from '../auth/tokens.ts';
import { AppError } from '../errors.ts';

export async function authenticate(request: FastifyRequest, tokens: TokenService): Promise<AuthUser> {
  const header = request.headers.authorization;
  if (!header)
    throw new AppError(
      'UNAUTHENTICATED',
      'Send "Authorization: Bearer <access_token>" (from POST /api/v1/auth/login).',
    );
  const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/.exec(header);
  if (!match?.[1]) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <access_token>".');
  return tokens.verifyAccessToken(match[1]);
}

export function requireRole(user: AuthUser, ...roles: Role[]): void {
  if (!roles.includes(user.role)) throw new AppError('FORBIDDEN', `This needs one of the roles: ${roles.join(', ')}.`);
}
