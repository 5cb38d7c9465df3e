/**
 * Every `intervalMs` (STATS_INTERVAL, default 2000), when this instance holds admin sockets,
 * builds one `stats` frame (cluster-wide presence + this instance's figures, read from the
 * metrics /metrics serves: observability/instance-figures.ts) and writes it to them. Serialized
 * once; sent only to local admin connections (each instance serves its own).
 */
import { encodeFrame, ServerAction, serverFrame } from '@anmei/protocol';
import type { InstanceFigures } from '../observability/instance-figures.ts';
import type { Logger } from '../observability/logger.ts';
import type { Presence } from '../realtime/presence/presence.ts';
import type { LocalConnections } from './local-connections.ts';

export interface StatsPublisherDeps {
  local: LocalConnections;
  presence: Presence;
  figures: InstanceFigures;
  instanceId: string;
  intervalMs: number;
  logger: Logger;
}

export class StatsPublisher {
  readonly deps: StatsPublisherDeps;
  readonly #timer: NodeJS.Timeout;
  #busy = false;

  constructor(deps: StatsPublisherDeps) {
    this.deps = deps;
    this.#timer = setInterval(() => void this.publishNow(), deps.intervalMs);
    this.#timer.unref();
  }

  /** Sends one frame now (also used by tests); returns how many sockets got it. */
  async publishNow(): Promise<number> {
    const { local } = this.deps;
    if (this.#busy || ![...local.all()].some((c) => c.info.connectionType === 'admin')) return 0;
    this.#busy = true;
    try {
      // Presence first: when it fails (Redis away) the window is not restarted, so no figure is lost.
      const presence = await this.deps.presence.stats();
      const [figures, push] = await Promise.all([this.deps.figures.window(), this.deps.figures.push()]);
      const frame = serverFrame(ServerAction.stats, {
        online_users: presence.users,
        connections: presence.connections,
        by_device_type: presence.byDeviceType,
        by_role: presence.byRole,
        by_instance: presence.byInstance,
        instance_id: this.deps.instanceId,
        messages_per_second: figures.messagesPerSecond,
        broadcast_latency_ms: figures.latency,
        push: {
          sent: push.attempts.success,
          failed: push.attempts.retryable + push.attempts.permanent,
          success_rate: push.successRate,
          expired: push.attempts.expired,
          queued: push.queued,
          by_provider: Object.fromEntries(
            Object.entries(push.byProvider).map(([name, a]) => {
              const failed = a.retryable + a.permanent;
              return [
                name,
                {
                  sent: a.success,
                  failed,
                  success_rate: a.success + failed === 0 ? null : a.success / (a.success + failed),
                },
              ];
            }),
          ),
        },
      });
      return local.deliver({ frame: encodeFrame(frame), origin: this.deps.instanceId, connectionType: 'admin' }, 'all');
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'could not build the admin stats frame; will retry');
      return 0;
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
