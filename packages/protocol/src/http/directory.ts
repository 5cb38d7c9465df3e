/**
 * GET /api/v1/directory: the staff accounts a signed-in user may pick from, e.g. a customer
 * choosing a consultant, or a consultant bringing a doctor into a conversation. Customers are never
 * listed here (they are only reachable through their conversations).
 */
import { z } from 'zod';
import { ROLES, type Role } from '../domain.ts';

/** The roles the directory lists. */
export const DIRECTORY_ROLES = ['consultant', 'doctor'] as const;
export type DirectoryRole = (typeof DIRECTORY_ROLES)[number];

/** Who may list which role: customers see consultants only; staff and admins see both. */
export const DIRECTORY_ACCESS: Readonly<Record<Role, readonly DirectoryRole[]>> = {
  customer: ['consultant'],
  consultant: ['consultant', 'doctor'],
  doctor: ['consultant', 'doctor'],
  admin: ['consultant', 'doctor'],
};

export const DirectoryQuery = z.object({
  role: z.enum(DIRECTORY_ROLES, { error: 'must be "consultant" or "doctor"' }),
});

/** One account: no username (a login name is not for other users to see). */
export const DirectoryEntry = z.object({
  id: z.string(),
  display_name: z.string(),
  role: z.enum(ROLES),
  /** Connected to some instance right now. */
  online: z.boolean(),
});
export type DirectoryEntry = z.infer<typeof DirectoryEntry>;

/** Online accounts first, then oldest account first. */
export const DirectoryResponse = z.object({ users: z.array(DirectoryEntry) });
export type DirectoryResponse = z.infer<typeof DirectoryResponse>;
