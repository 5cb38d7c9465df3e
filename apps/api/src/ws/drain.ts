/**
 * The sockets' part of a graceful drain (Gateway.close): every open socket is told to reconnect
 * after a random delay in [0, spreadMs) (so they do not all land on the survivors at once), frames
 * already received may finish (at most timeoutMs), then every socket is closed with 1001 and a
 * peer that does not answer the close handshake is cut 2 s later.
 */
import { CloseCode, encodeFrame, ServerAction, serverFrame } from '@anmei/protocol';
import type { ConnectionSession } from './connection-session.ts';
import type { LocalConnections } from './local-connections.ts';
import type { SocketWriter } from './socket-writer.ts';

/** ms a peer has to answer our 1001 close before its TCP connection is cut. */
const CLOSE_HANDSHAKE_MS = 2_000;

/** Resolves once every socket was sent its close; returns the timer that cuts the peers that did not answer. */
export async function drainSockets(
  local: LocalConnections,
  writer: SocketWriter,
  open: readonly ConnectionSession[],
  closing: readonly ConnectionSession[],
  options: { spreadMs: number; timeoutMs: number },
): Promise<NodeJS.Timeout> {
  for (const connection of open) {
    writer.writeDirect(
      connection,
      encodeFrame(
        serverFrame(ServerAction.reconnect, {
          reason: 'server_draining',
          retry_after_ms: Math.floor(Math.random() * options.spreadMs),
        }),
      ),
    );
  }
  const draining = [...open, ...closing].map((session) => session.drained());
  await withDeadline(Promise.allSettled(draining), options.timeoutMs);
  for (const connection of local.all()) connection.socket.close(CloseCode.goingAway, 'server draining');
  const force = setTimeout(() => {
    for (const connection of local.all()) connection.socket.terminate();
  }, CLOSE_HANDSHAKE_MS);
  force.unref();
  return force;
}

/** Resolves when `work` settles or after `ms`, whichever is first. */
function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    // Both outcomes end the wait; a rejection must not escape as an unhandled one.
    work.then(done, done);
  });
}
