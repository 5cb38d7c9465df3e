/** What BroadcastingService is built from and what it answers (its callers import these from there too). */

import type { Store } from '../db/store-types.ts';
import type { AppEvents } from '../events.ts';
import type { Logger } from '../observability/logger.ts';
import type { Bus } from '../realtime/bus/bus.ts';
import type { Presence } from '../realtime/presence/presence.ts';
import type { ParticipantDirectory } from './participant-directory.ts';

export interface BroadcastOutcome {
  ok: boolean;
  /** Users the live frame was handed to the bus for; only their connected devices receive it. */
  delivered: number;
  /** A push decision was stored: the push queue will notify whichever recipients are offline. */
  pushQueued: boolean;
}

/** What BroadcastingService needs of the push queue: to be told that a decision was stored. */
export interface PushScheduler {
  nudge(): void;
}

export interface BroadcastingDeps {
  /** Durable events (read receipts, notices, direct messages) are stored before they are published. */
  store: Store;
  bus: Bus;
  presence: Presence;
  participants: ParticipantDirectory;
  pushes: PushScheduler;
  events: AppEvents;
  instanceId: string;
  logger: Logger;
}
