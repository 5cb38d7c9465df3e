/** Sign-up, starting a consultation, and accounts made by an admin. */
import { z } from 'zod';
import { ROLES } from '../domain.ts';
import { Id } from '../payloads.ts';
import { StorableText } from '../storable.ts';
import { TokenResponse } from './auth.ts';
import { CommonProblems, Password, Problem, User } from './common.ts';

const Username = z.string().regex(/^[a-z0-9_]{3,32}$/, 'use 3-32 lower-case letters, digits or _');
const DisplayName = StorableText.trim().min(1).max(50);
/** 409 is USERNAME_TAKEN. */
const problems = { ...CommonProblems, 409: Problem } as const;

export const RegisterBody = z.strictObject({ username: Username, password: Password, display_name: DisplayName });
export type RegisterBody = z.input<typeof RegisterBody>;

/** A customer starts one with a consultant (consultant_id, or the first consultant); staff name the customer_id. */
export const StartConversationBody = z.strictObject({
  title: StorableText.trim().min(1).max(100).optional(),
  consultant_id: Id.optional(),
  customer_id: Id.optional(),
});
export type StartConversationBody = z.input<typeof StartConversationBody>;

export const StartConversationResponse = z.object({ id: z.string(), title: z.string(), participants: z.array(User) });
export type StartConversationResponse = z.infer<typeof StartConversationResponse>;

export const CreateUserBody = z.strictObject({
  username: Username,
  password: Password,
  display_name: DisplayName,
  role: z.enum(ROLES),
});
export type CreateUserBody = z.input<typeof CreateUserBody>;

export const UserListQuery = z.object({ role: z.enum(ROLES).optional() });
export const UserListResponse = z.object({ users: z.array(User.extend({ online: z.boolean() })) });
export type UserListResponse = z.infer<typeof UserListResponse>;

export const AccountSchemas = {
  register: { body: RegisterBody, response: { 201: TokenResponse, ...problems } },
  startConversation: { body: StartConversationBody, response: { 201: StartConversationResponse, ...problems } },
  createUser: { body: CreateUserBody, response: { 201: User, ...problems } },
  listUsers: { querystring: UserListQuery, response: { 200: UserListResponse, ...problems } },
} as const;
