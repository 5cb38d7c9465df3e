/**
 * Who takes part in a conversation, cached so a broadcast does not query the database
 * each time. Entries are dropped when this process changes participants (`invalidate`) and
 * expire after `ttlMs` (default 60 000 ms) so a change made by another instance is seen
 * within that window at worst.
 */
import type { Role } from '@anmei/protocol';
import type { Store } from '../db/store-types.ts';

export interface Participant {
  userId: string;
  role: Role;
}

interface Entry {
  participants: Participant[];
  expiresAt: number;
}

export class ParticipantDirectory {
  readonly #store: Store;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Participant[]>>();

  constructor(store: Store, options: { ttlMs?: number; maxEntries?: number } = {}) {
    this.#store = store;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  /**
   * The participants if the cache holds a fresh entry, else undefined (then use `of`). Lets the
   * send path answer a hit without a promise: a message asks for its conversation's participants
   * twice (the check, the recipients) and almost always hits.
   */
  cached(conversationId: string): readonly Participant[] | undefined {
    const hit = this.#cache.get(conversationId);
    return hit !== undefined && hit.expiresAt > Date.now() ? hit.participants : undefined;
  }

  async of(conversationId: string): Promise<Participant[]> {
    const hit = this.#cache.get(conversationId);
    if (hit && hit.expiresAt > Date.now()) return hit.participants;
    // Concurrent misses for one conversation share one query.
    let pending = this.#inflight.get(conversationId);
    if (!pending) {
      pending = this.#load(conversationId).finally(() => this.#inflight.delete(conversationId));
      this.#inflight.set(conversationId, pending);
    }
    return pending;
  }

  async isParticipant(conversationId: string, userId: string): Promise<boolean> {
    const participants = await this.of(conversationId);
    return participants.some((p) => p.userId === userId);
  }

  invalidate(conversationId: string): void {
    this.#cache.delete(conversationId);
  }

  async #load(conversationId: string): Promise<Participant[]> {
    const rows = await this.#store.conversations.participants(conversationId);
    const participants = rows.map((r) => ({ userId: r.userId, role: r.role }));
    if (this.#cache.size >= this.#maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(conversationId, { participants, expiresAt: Date.now() + this.#ttlMs });
    return participants;
  }
}
