import type { Envelope } from '../types.ts';

/**
 * Moves envelopes to the instances that hold the recipients' sockets.
 *
 * Contract for implementations:
 * - `publishToUsers(userIds, env)` must reach every instance that has called
 *   `subscribeUser(u)` (and not yet `unsubscribeUser(u)`) for some u in userIds, including
 *   the publishing instance itself; each of an instance's subscribed recipients is handed
 *   to its handler exactly ONCE per publish (as `targets`), either grouped in one call
 *   (memory, Redis per-instance routing) or one call per recipient (Redis sharded: one
 *   message per user channel). A user subscribed on two instances is delivered by both.
 * - An instance with no subscribed recipient must not receive the envelope at all
 *   (routing by recipient: no instance pays for traffic it does not deliver).
 * - `publishToAll(env)` reaches every instance (the seed's `ws:broadcast`), `targets` = 'all'.
 * - Publishes from one publisher to one user arrive in publish order.
 * - Delivery to the publishing instance's own subscribers is never synchronous: the handler is
 *   not called inside `publishToUsers`/`publishToAll` but in a microtask the publish queues
 *   (before any timer or I/O callback; microtasks run in order, which keeps publish order). So
 *   every bus shows callers one order: the code after a publish call runs before the handler
 *   sees that publish.
 * - `subscribeUser`/`unsubscribeUser` are reference counted by the caller (call once per
 *   user, on first local socket / after last); they resolve once the subscription is live.
 * - After `unsubscribeUser(u)` resolves, no further envelope is delivered for u alone.
 * - `onEnvelope` is called once per bus; a second call throws. A handler that throws is
 *   reported (never crashes the bus) and does not stop later deliveries.
 * - `onRecovered(handler)`: called (no argument) when envelopes for this instance's recipients
 *   may have been lost and delivery works again — after either of its links to the other
 *   instances reconnects, once its routes and subscriptions are live again; after a route
 *   re-sync; and when another instance reports that some of its publishes failed. The caller
 *   then tells its sockets their stream heads (docs/delivery.md, "Trailing gaps"). A bus that
 *   cannot lose envelopes (memory) never calls it.
 * - After `close()` no handler is called and no timer or connection remains; publish and
 *   (un)subscribe reject with an Error whose message is exactly `bus is closed`.
 */
export interface Bus {
  publishToUsers(userIds: readonly string[], envelope: Envelope): Promise<void>;
  publishToAll(envelope: Envelope): Promise<void>;
  subscribeUser(userId: string): Promise<void>;
  unsubscribeUser(userId: string): Promise<void>;
  /** Register the (single) receiver; `targets` are this instance's subscribed recipients. */
  onEnvelope(handler: (envelope: Envelope, targets: readonly string[] | 'all') => void): void;
  /** Register the (single) listener for "envelopes may have been lost" (see the contract above). */
  onRecovered(handler: () => void): void;
  close(): Promise<void>;
}
