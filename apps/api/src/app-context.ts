/** The process-wide parts the composition root builds once and routes/gateway share. */
import type { AttachmentService } from './attachments/attachment-service.ts';
import type { TicketStore } from './auth/ticket-store.ts';
import type { TokenService } from './auth/tokens.ts';
import type { BroadcastingService } from './broadcasting/broadcasting-service.ts';
import type { ParticipantDirectory } from './broadcasting/participant-directory.ts';
import type { ChatService } from './chat/chat-service.ts';
import type { Config } from './config.ts';
import type { Store } from './db/store-types.ts';
import type { AppEvents } from './events.ts';
import type { PushWorker } from './notifications/push-worker.ts';
import type { NotificationService } from './notifications/service.ts';
import type { InstanceFigures } from './observability/instance-figures.ts';
import type { AppMetrics } from './observability/metrics.ts';
import type { Bus } from './realtime/bus/bus.ts';
import type { Presence } from './realtime/presence/presence.ts';
import type { LocalConnections } from './ws/local-connections.ts';

export interface AppContext {
  config: Config;
  /** Which cross-instance backend is in use, and its message counters (for /health). */
  realtime: {
    kind: 'memory' | 'redis';
    busStats(): Record<string, number | string>;
    healthy(): boolean;
    /** Resolves once Redis answered a PING (at once without Redis); /ready bounds the wait. */
    ping(): Promise<void>;
  };
  databaseKind: 'pglite' | 'postgres';
  /** Whether the database has every migration this build ships (/ready); rejects when it does not answer. */
  migrationsApplied(): Promise<boolean>;
  store: Store;
  tokens: TokenService;
  tickets: TicketStore;
  events: AppEvents;
  bus: Bus;
  presence: Presence;
  local: LocalConnections;
  participants: ParticipantDirectory;
  notifications: NotificationService;
  /** The push queue's worker: `nudge()` after storing a decision. */
  pushes: PushWorker;
  /** This instance's metrics (served at /metrics). */
  metrics: AppMetrics;
  /** The admin page's per-instance figures, read from `metrics`. */
  figures: InstanceFigures;
  broadcasting: BroadcastingService;
  chat: ChatService;
  attachments: AttachmentService;
}
