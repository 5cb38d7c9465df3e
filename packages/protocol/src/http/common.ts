/**
 * Pieces every HTTP route group uses: the problem+json error body, a user as the API shows it,
 * path parameters and query positions. Request schemas are `strictObject` (a misspelt field is
 * VALIDATION_FAILED, not ignored); answers are `z.object` (an older client ignores added fields).
 */
import { z } from 'zod';
import { type ErrorCode, ErrorCodes } from '../codes.ts';
import { ROLES } from '../domain.ts';
import { Id } from '../payloads.ts';
import { withPositionRange } from '../storable.ts';

/** RFC 9457 problem details (`application/problem+json`): every error answer of the API. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  code: z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]),
  detail: z.string(),
  instance: z.string().optional(),
  /** For VALIDATION_FAILED: where the request was wrong, e.g. `body.content: Too big`. */
  issues: z.array(z.string()).optional(),
});
export type Problem = z.infer<typeof Problem>;

/** An account as the API shows it (never its password hash). */
export const User = z.object({
  id: z.string(),
  username: z.string(),
  display_name: z.string(),
  role: z.enum(ROLES),
});
export type User = z.infer<typeof User>;

/** Path parameters are ids: storable text (a `%00` in the path is VALIDATION_FAILED, not a database error). */
export const ConversationIdParams = z.object({ conversation_id: Id });

/** A position in a query string (`after_seq=41`): a whole number from `min` up to LIMITS.positionMax. */
export const positionQuery = (min: 0 | 1 = 0) => withPositionRange(z.coerce.number()).min(min);

/** The error statuses most routes can answer with (each a problem+json body); 503 is DATABASE_UNAVAILABLE. */
export const CommonProblems = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  503: Problem,
} as const;

/** A new password (sign-up, accounts made by an admin, a change): 8–128 characters. */
export const Password = z.string().min(8, 'use at least 8 characters').max(128);
