/** Password hashing with Argon2id (@node-rs/argon2 defaults: m=19456 KiB, t=2, p=1 — OWASP's minimum). */
import { hash, verify } from '@node-rs/argon2';

export function hashPassword(plain: string): Promise<string> {
  return hash(plain);
}

/** Never throws: a malformed stored hash counts as a mismatch. */
export async function verifyPassword(storedHash: string, plain: string): Promise<boolean> {
  try {
    return await verify(storedHash, plain);
  } catch {
    return false;
  }
}

/**
 * A valid hash of a random password, verified against when the username does not exist so
 * that "no such user" and "wrong password" take the same time.
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hash(`dummy-${Math.random()}`);
  return dummyHash;
}
