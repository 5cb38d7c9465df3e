/**
 * In-process Bus: every bus created from one hub behaves like an API instance attached to
 * the same Redis. One hub per process is the embedded single-instance default; tests create
 * several buses from one hub to simulate several instances without Redis.
 */
import type { Envelope } from '../types.ts';
import type { Bus } from './bus.ts';

type EnvelopeHandler = (envelope: Envelope, targets: readonly string[] | 'all') => void;

export interface MemoryBusHubOptions {
  /**
   * Called when a receiver's handler throws. The handler is expected never to throw (the
   * gateway answers per socket); this keeps one faulty delivery from becoming an uncaught
   * exception that takes the process down. Default: `console.error`, because the memory bus
   * has no logger of its own — the composition root should pass one that logs at ERROR.
   */
  onHandlerError?: (error: unknown, instanceId: string) => void;
}

export interface MemoryBusStats {
  /** Successful publishToUsers + publishToAll calls made by this bus. */
  published: number;
  /** Handler invocations on this bus (one per delivered publish, not per target). */
  received: number;
}

/** Snapshot taken at publish time, as Redis would serialize it: later mutation by the publisher cannot leak. */
function snapshot(envelope: Envelope): Envelope {
  const copy: Envelope = { frame: envelope.frame, origin: envelope.origin };
  // Only copy keys that are present so "absent = every device" stays absent (not `undefined`).
  if (envelope.deviceTypes !== undefined) copy.deviceTypes = Object.freeze([...envelope.deviceTypes]);
  if (envelope.connectionType !== undefined) copy.connectionType = envelope.connectionType;
  if (envelope.excludeConnectionId !== undefined) copy.excludeConnectionId = envelope.excludeConnectionId;
  if (envelope.control !== undefined) copy.control = Object.freeze({ ...envelope.control });
  return Object.freeze(copy);
}

/** Numbers every publishToUsers in this process (1, 2, …); see MemoryBus.#subscribed. */
let publishCounter = 0;

export class MemoryBusHub {
  readonly #buses = new Set<MemoryBus>();
  readonly #onHandlerError: (error: unknown, instanceId: string) => void;

  constructor(options: MemoryBusHubOptions = {}) {
    this.#onHandlerError =
      options.onHandlerError ??
      ((error, instanceId) => {
        console.error(`memory bus: envelope handler of instance ${instanceId} threw`, error);
      });
  }

  createBus(instanceId: string): MemoryBus {
    const bus = new MemoryBus(instanceId, this.#buses, this.#onHandlerError);
    this.#buses.add(bus);
    return bus;
  }
}

export class MemoryBus implements Bus {
  readonly instanceId: string;
  readonly #peers: Set<MemoryBus>;
  readonly #onHandlerError: (error: unknown, instanceId: string) => void;
  /**
   * Subscribed user -> number of the last publish that targeted them here. The number lets
   * `#targetsAmong` drop a user listed twice without building a Set per publish.
   */
  readonly #subscribed = new Map<string, number>();
  #handler: EnvelopeHandler | null = null;
  #closed = false;
  #published = 0;
  #received = 0;

  /** Use `MemoryBusHub.createBus`: a bus only makes sense attached to a hub. */
  constructor(instanceId: string, peers: Set<MemoryBus>, onHandlerError: (error: unknown, instanceId: string) => void) {
    this.instanceId = instanceId;
    this.#peers = peers;
    this.#onHandlerError = onHandlerError;
  }

  async publishToUsers(userIds: readonly string[], envelope: Envelope): Promise<void> {
    this.#assertOpen();
    this.#published += 1;
    const env = snapshot(envelope);
    const publish = ++publishCounter;
    // Targets are decided at publish time, like Redis matching channels when PUBLISH runs.
    for (const peer of this.#peers) {
      const targets = peer.#targetsAmong(userIds, publish);
      if (targets !== null) peer.#enqueue(env, targets);
    }
  }

  async publishToAll(envelope: Envelope): Promise<void> {
    this.#assertOpen();
    this.#published += 1;
    const env = snapshot(envelope);
    for (const peer of this.#peers) peer.#enqueue(env, 'all');
  }

  async subscribeUser(userId: string): Promise<void> {
    this.#assertOpen();
    if (!this.#subscribed.has(userId)) this.#subscribed.set(userId, 0);
  }

  async unsubscribeUser(userId: string): Promise<void> {
    this.#assertOpen();
    this.#subscribed.delete(userId);
  }

  onEnvelope(handler: EnvelopeHandler): void {
    if (this.#handler !== null) {
      throw new Error(`bus ${this.instanceId} already has an envelope handler; register exactly one receiver`);
    }
    this.#handler = handler;
  }

  /** In-process delivery cannot be lost, so the handler is never called. */
  onRecovered(_handler: () => void): void {}

  /** Idempotent. Deliveries already queued for this bus are dropped, not run. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#peers.delete(this);
    this.#subscribed.clear();
    this.#handler = null;
  }

  stats(): MemoryBusStats {
    return { published: this.#published, received: this.#received };
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('bus is closed');
  }

  /**
   * This instance's subscribed recipients among `userIds`, each once, in publish order; null
   * when there are none. The result is a fresh array (the publisher may reuse `userIds`).
   */
  #targetsAmong(userIds: readonly string[], publish: number): string[] | null {
    let targets: string[] | null = null;
    for (let i = 0; i < userIds.length; i++) {
      const userId = userIds[i] as string;
      const last = this.#subscribed.get(userId);
      if (last === undefined || last === publish) continue;
      this.#subscribed.set(userId, publish);
      if (targets === null) targets = [];
      targets.push(userId);
    }
    return targets;
  }

  /**
   * In a microtask, as the Bus contract says for every bus (the Redis bus hands its own
   * recipients over the same way); microtasks run FIFO, which keeps publish order.
   */
  #enqueue(envelope: Envelope, targets: readonly string[] | 'all'): void {
    queueMicrotask(() => {
      const handler = this.#handler;
      if (this.#closed || handler === null) return;
      this.#received += 1;
      try {
        handler(envelope, targets);
      } catch (error) {
        this.#onHandlerError(error, this.instanceId);
      }
    });
  }
}
