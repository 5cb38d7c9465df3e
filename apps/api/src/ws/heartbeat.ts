/**
 * The server's heartbeat: every `intervalMs` each socket that answered the previous ping (or sent
 * anything) is pinged again, and one that did not is cut with 4000 (HEARTBEAT_TIMEOUT): it is
 * released at once and its TCP connection destroyed after the close grace (socket-writer.ts).
 */
import { CloseCode } from '@anmei/protocol';
import type { Logger } from '../observability/logger.ts';
import type { LocalConnections } from './local-connections.ts';

/** Starts the timer (unref'd); clear it with `clearInterval`. */
export function startHeartbeat(local: LocalConnections, logger: Logger, intervalMs: number): NodeJS.Timeout {
  const timer = setInterval(() => beat(local, logger), intervalMs);
  timer.unref();
  return timer;
}

function beat(local: LocalConnections, logger: Logger): void {
  for (const connection of local.all()) {
    if (!connection.alive) {
      logger.warn(
        { connectionId: connection.info.connectionId, userId: connection.info.userId },
        'heartbeat timeout: terminating connection',
      );
      // Say why when the peer can still hear it; cut the TCP connection if it does not answer.
      connection.cut(CloseCode.heartbeatTimeout, 'heartbeat timeout');
      continue;
    }
    if (connection.socket.readyState !== connection.socket.OPEN) continue;
    connection.alive = false;
    connection.socket.ping();
  }
}
