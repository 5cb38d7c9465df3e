/**
 * OutboxStorage in the browser's IndexedDB. One database per user (`anmei-outbox:<user id>`), so
 * on a shared computer one user's pending messages are never loaded by another user's client.
 * Records are keyed by an auto-increment number (the order they were first put, which `load()`
 * returns) with a unique index on the client message id (put replaces, delete finds).
 */
import { isStoredMessage, type OutboxStorage, type StoredMessage } from './outbox-storage.ts';

export interface IndexedDbOutboxStorageOptions {
  /** Default `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
  /** Database name before the (URI-encoded) user id. Default `anmei-outbox:`. */
  databasePrefix?: string;
}

const STORE = 'messages';
const BY_ID = 'clientMessageId';
const VERSION = 1;

export class IndexedDbOutboxStorage implements OutboxStorage {
  readonly databaseName: string;
  readonly #factory: IDBFactory;
  #db: Promise<IDBDatabase> | null = null;

  constructor(userId: string, options: IndexedDbOutboxStorageOptions = {}) {
    if (typeof userId !== 'string' || userId.length === 0) {
      throw new TypeError(
        `@anmei/client: IndexedDbOutboxStorage needs the signed-in user's id (one database per user), got ${JSON.stringify(userId)}.`,
      );
    }
    const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!factory) {
      throw new TypeError(
        '@anmei/client: IndexedDbOutboxStorage needs IndexedDB (pass the "indexedDB" option, or use browserOutboxStorage(), which is null without it).',
      );
    }
    this.#factory = factory;
    this.databaseName = `${options.databasePrefix ?? 'anmei-outbox:'}${encodeURIComponent(userId)}`;
  }

  async load(): Promise<StoredMessage[]> {
    const db = await this.#open();
    const tx = db.transaction(STORE, 'readonly');
    const records = await request<unknown[]>(tx.objectStore(STORE).getAll());
    // getAll() returns records in key order, and the key is the order of the first put.
    return records
      .filter(isStoredMessage)
      .map(({ conversationId, clientMessageId, content, createdAt, expiresAt }) => ({
        conversationId,
        clientMessageId,
        content,
        createdAt,
        expiresAt,
      }));
  }

  async put(message: StoredMessage): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    const record = {
      conversationId: message.conversationId,
      clientMessageId: message.clientMessageId,
      content: message.content,
      createdAt: message.createdAt,
      expiresAt: message.expiresAt,
    };
    store.index(BY_ID).getKey(message.clientMessageId).onsuccess = (event) => {
      const key = (event.target as IDBRequest<IDBValidKey | undefined>).result;
      // Replacing keeps the key, and with it the message's place in the order.
      if (key === undefined) store.add(record);
      else store.put({ ...record, order: key });
    };
    await done(tx);
  }

  async delete(clientMessageId: string): Promise<void> {
    const db = await this.#open();
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    store.index(BY_ID).getKey(clientMessageId).onsuccess = (event) => {
      const key = (event.target as IDBRequest<IDBValidKey | undefined>).result;
      if (key !== undefined) store.delete(key);
    };
    await done(tx);
  }

  /**
   * One connection, opened on first use. Readwrite transactions on one store run in the order
   * they were created, and every call creates its transaction right after awaiting this same
   * promise, so calls take effect in call order (the storage contract).
   */
  #open(): Promise<IDBDatabase> {
    this.#db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const open = this.#factory.open(this.databaseName, VERSION);
      open.onupgradeneeded = () => {
        const store = open.result.createObjectStore(STORE, { keyPath: 'order', autoIncrement: true });
        store.createIndex(BY_ID, 'clientMessageId', { unique: true });
      };
      open.onsuccess = () => {
        const db = open.result;
        // Another tab deleting or upgrading the database waits for every connection to close:
        // close ours (the next call reopens), rather than block it.
        db.onversionchange = () => {
          db.close();
          this.#db = null;
        };
        db.onclose = () => {
          this.#db = null;
        };
        resolve(db);
      };
      open.onerror = () => {
        this.#db = null;
        reject(open.error ?? new Error(`@anmei/client: could not open IndexedDB database "${this.databaseName}".`));
      };
    });
    return this.#db;
  }
}

/**
 * The storage a browser app should use for `userId`: IndexedDB, or null where there is none
 * (Node, some embedded browsers), which keeps the outbox in memory.
 */
export function browserOutboxStorage(userId: string): OutboxStorage | null {
  if (!(globalThis as { indexedDB?: IDBFactory }).indexedDB) return null;
  return new IndexedDbOutboxStorage(userId);
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('@anmei/client: IndexedDB transaction aborted.'));
  });
}
