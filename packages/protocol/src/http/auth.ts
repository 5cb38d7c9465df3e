/** Login, who-am-I and WebSocket tickets (`/api/v1/auth/*`, `/api/v1/ws/ticket`). */
import { z } from 'zod';
import { ROLES } from '../domain.ts';
import { StorableText } from '../storable.ts';
import { CommonProblems, Password, Problem, User } from './common.ts';

export const LoginBody = z.strictObject({
  username: StorableText.min(1).max(64),
  password: z.string().min(1).max(256),
});
export type LoginBody = z.infer<typeof LoginBody>;

/** Answer of login and of sign-up: a bearer token for `Authorization: Bearer …` and who it is for. */
export const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().describe('seconds'),
  user: User,
});
export type TokenResponse = z.infer<typeof TokenResponse>;

export const TicketResponse = z.object({
  /** Single use, valid `expires_in` seconds (WS_TICKET_TTL, default 30). */
  ticket: z.string(),
  expires_in: z.number().describe('seconds'),
  ws_path: z.string(),
  role: z.enum(ROLES),
});
export type TicketResponse = z.infer<typeof TicketResponse>;

/** A signed-in user changes their password; the current one confirms it is them (a left-open session). */
export const ChangePasswordBody = z.strictObject({
  current_password: z.string().min(1).max(256),
  new_password: Password,
});
export type ChangePasswordBody = z.infer<typeof ChangePasswordBody>;

export const AuthSchemas = {
  login: { body: LoginBody, response: { 200: TokenResponse, 401: Problem } },
  me: { response: { 200: User, 401: Problem } },
  ticket: { response: { 200: TicketResponse, 401: Problem } },
  /** 204, no body; 403 CURRENT_PASSWORD_WRONG; 429 RATE_LIMITED. */
  changePassword: { body: ChangePasswordBody, response: { 204: z.null(), ...CommonProblems, 429: Problem } },
} as const;
