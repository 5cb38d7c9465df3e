/**
 * An OutboxStorage in memory, for tests: several clients given the same one behave like two page
 * loads (or two tabs) sharing the browser's IndexedDB. It honours the contract in
 * src/outbox-storage.ts, records its calls, and can be told to fail or to hold a load.
 */
import type { OutboxStorage, StoredMessage } from '../../src/index.ts';

type Operation = 'load' | 'put' | 'delete';

export class MemoryOutboxStorage implements OutboxStorage {
  /** Map order = order of the first put (set() on an existing key keeps its place). */
  readonly #messages = new Map<string, StoredMessage>();
  /** Every call, e.g. `put a`, `delete a`, `load`. */
  readonly calls: string[] = [];
  /** Operations that reject (with "<operation> failed") until removed from the set. */
  readonly failing = new Set<Operation>();
  #loadGate: Promise<void> | null = null;

  constructor(messages: readonly StoredMessage[] = []) {
    for (const message of messages) this.#messages.set(message.clientMessageId, { ...message });
  }

  /** The next loads wait until the returned function is called. */
  holdLoads(): () => void {
    let open!: () => void;
    this.#loadGate = new Promise((resolve) => {
      open = resolve;
    });
    return () => {
      this.#loadGate = null;
      open();
    };
  }

  get ids(): string[] {
    return [...this.#messages.keys()];
  }

  get messages(): StoredMessage[] {
    return [...this.#messages.values()].map((m) => ({ ...m }));
  }

  async load(): Promise<StoredMessage[]> {
    this.calls.push('load');
    const gate = this.#loadGate;
    if (gate) await gate;
    this.#check('load');
    return this.messages;
  }

  async put(message: StoredMessage): Promise<void> {
    this.calls.push(`put ${message.clientMessageId}`);
    this.#check('put');
    this.#messages.set(message.clientMessageId, { ...message });
  }

  async delete(clientMessageId: string): Promise<void> {
    this.calls.push(`delete ${clientMessageId}`);
    this.#check('delete');
    this.#messages.delete(clientMessageId);
  }

  #check(operation: Operation): void {
    if (this.failing.has(operation)) throw new Error(`${operation} failed`);
  }
}
