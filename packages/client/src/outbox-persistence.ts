/**
 * Keeps the outbox in an OutboxStorage (issue #17: a message written while offline was lost on
 * reload). It puts what `send()` accepts, deletes what ends for good, and when a storage is
 * attached loads its messages into the outbox. The outbox writes nothing while a storage loads,
 * so restored messages go out before any sent meanwhile.
 */
import type { ServerDataOf } from '@anmei/protocol';
import type { Outbox, OutboxObserver, QueuedMessage } from './outbox.ts';
import type { OutboxStorage, StoredMessage } from './outbox-storage.ts';
import { SendError, type SendFailureCode } from './send-error.ts';

/** Endings that leave a stored message kept: it belongs to the next page, or the next sign-in. */
const KEEP: ReadonlySet<SendFailureCode> = new Set<SendFailureCode>(['DISPOSED', 'DISCARDED']);

export interface RestoredSend {
  message: QueuedMessage;
  ack: Promise<ServerDataOf<'ack'>>;
}

export interface PersistenceHooks {
  /** A storage call failed (`operation`: load, put or delete); the outbox carries on in memory. */
  failed(operation: 'load' | 'put' | 'delete', error: unknown): void;
  /** Messages loaded from a storage are in the outbox now, each with its ack promise. */
  restored(sends: RestoredSend[]): void;
}

export class OutboxPersistence implements OutboxObserver {
  readonly #outbox: () => Outbox;
  readonly #hooks: PersistenceHooks;
  #storage: OutboxStorage | null = null;
  #loading: Promise<void> = Promise.resolve();
  /** Bumped by every attach, so a slow load of a storage no longer attached is ignored. */
  #generation = 0;

  /** `outbox`: a getter, since the outbox is built with this object as its observer. */
  constructor(outbox: () => Outbox, hooks: PersistenceHooks) {
    this.#outbox = outbox;
    this.#hooks = hooks;
  }

  get storage(): OutboxStorage | null {
    return this.#storage;
  }

  added(message: QueuedMessage): void {
    const storage = this.#storage;
    if (storage) this.#watch('put', () => storage.put(toStored(message)));
  }

  settled(message: QueuedMessage, error: SendError | null): void {
    if (error && KEEP.has(error.code)) return;
    const storage = this.#storage;
    if (storage) this.#watch('delete', () => storage.delete(message.clientMessageId));
  }

  /**
   * Makes `storage` the outbox's (null: memory only). Another storage than the current one means
   * another owner: every message in memory is discarded first (DISCARDED; it stays where it was
   * stored), then the new storage's messages are restored. Resolves once they are.
   */
  attach(storage: OutboxStorage | null): Promise<void> {
    if (storage === this.#storage) return this.#loading;
    this.discard();
    this.#storage = storage;
    const generation = ++this.#generation;
    this.#loading = storage ? this.#load(storage, generation) : Promise.resolve();
    return this.#loading;
  }

  /** Rejects every message in memory with DISCARDED; the storage keeps them. */
  discard(): void {
    this.#outbox().clear(
      (id) => new SendError('DISCARDED', 'The outbox changed owner (signed out, or another user).', id),
    );
  }

  /** Discards every message in memory and deletes every message in the storage (sign-out). */
  async clear(): Promise<void> {
    await this.#loading;
    this.discard();
    const storage = this.#storage;
    if (!storage) return;
    const stored = await storage.load();
    await Promise.all(stored.map((message) => storage.delete(message.clientMessageId)));
  }

  async #load(storage: OutboxStorage, generation: number): Promise<void> {
    const outbox = this.#outbox();
    outbox.hold();
    try {
      const stored = await storage.load();
      if (generation !== this.#generation) return;
      const sends = outbox.restore(stored).filter((send): send is RestoredSend => send !== null);
      this.#hooks.restored(sends);
    } catch (error) {
      if (generation === this.#generation) this.#hooks.failed('load', error);
    } finally {
      outbox.release();
    }
  }

  #watch(operation: 'put' | 'delete', call: () => Promise<void>): void {
    let pending: Promise<void>;
    try {
      pending = call();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.catch((error: unknown) => this.#hooks.failed(operation, error));
  }
}

function toStored(message: QueuedMessage): StoredMessage {
  const { conversationId, clientMessageId, content, createdAt, expiresAt } = message;
  return { conversationId, clientMessageId, content, createdAt, expiresAt };
}
