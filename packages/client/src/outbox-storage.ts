/**
 * Where the outbox keeps pending sends so they outlive the page: a reload, a closed tab, a
 * crashed browser (issue #17). Pluggable: `IndexedDbOutboxStorage` in browsers, anything that
 * honours the contract below elsewhere. Without one (the default, and always in Node unless the
 * app attaches one) the outbox lives in memory only.
 */

/** A pending send as kept in storage: everything needed to send it again, exactly as first sent. */
export interface StoredMessage {
  conversationId: string;
  /** The idempotency key: the server stores a message at most once per sender and id. */
  clientMessageId: string;
  content: string;
  /** When `send()` was called, epoch ms. */
  createdAt: number;
  /** When it is given up with EXPIRED (`createdAt` + its TTL), epoch ms. */
  expiresAt: number;
}

/**
 * Pending sends of ONE user, outliving the page.
 *
 * What an implementation must do:
 * - `load()` resolves with every message put and not deleted since, in the order each was first
 *   put. The outbox calls it when the storage is attached (`client.setOutboxStorage()`), and
 *   again for `client.clearOutbox()`.
 * - `put(message)` keeps it under `message.clientMessageId` and resolves once a later `load()`,
 *   from this page or a new one, will see it. Putting an id that is already kept replaces its
 *   fields and keeps its place in the order.
 * - `delete(clientMessageId)` removes it; an id that is not kept is not an error.
 * - Calls take effect in the order they were made, even when the caller does not wait for one to
 *   settle before the next (an ack can delete a message whose put is still being written).
 * - A failure rejects the returned promise. The outbox reports it as a `STORAGE_FAILED` error
 *   event and carries on in memory: the message is still sent, it may just not survive a reload.
 * - Several clients (tabs) of the same user may share one storage. Each sees the others' writes
 *   on its next `load()` only; nothing more is required. Two tabs that both restore a message
 *   both send it, with the same client message id, so the server stores it once.
 *
 * What the outbox does with it: it puts a message when `send()` accepts it and deletes it when
 * its send ends for good (ack, SERVER_REJECTED, EXPIRED, DROPPED, TOO_LARGE). DISPOSED and
 * DISCARDED leave it kept: it belongs to the next page (or the next sign-in) of the same user.
 *
 * Give a client only the storage of the user it signs in as: a storage shared by two users
 * would send one user's message as the other.
 */
export interface OutboxStorage {
  load(): Promise<StoredMessage[]>;
  put(message: StoredMessage): Promise<void>;
  delete(clientMessageId: string): Promise<void>;
}

/** Narrows a value read back from a storage (it may have been written by an older version). */
export function isStoredMessage(value: unknown): value is StoredMessage {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.conversationId === 'string' &&
    v.conversationId.length > 0 &&
    typeof v.clientMessageId === 'string' &&
    v.clientMessageId.length > 0 &&
    typeof v.content === 'string' &&
    typeof v.createdAt === 'number' &&
    Number.isFinite(v.createdAt) &&
    typeof v.expiresAt === 'number' &&
    Number.isFinite(v.expiresAt)
  );
}
