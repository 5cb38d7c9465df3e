/** Large frames for the slow-consumer tests: a notice to everyone of a given size, and a flood until the server cuts a socket. */
import { encodeFrame, ServerAction, serverFrame } from '@anmei/protocol';
import WebSocket from 'ws';
import type { Bus } from '../../src/realtime/bus/bus.ts';

/** An encoded `system_notification` to everyone whose message is `bytes` long. */
export function bulkNotice(title: string, bytes = 64 * 1024): string {
  return encodeFrame(
    serverFrame(ServerAction.systemNotification, {
      conversation_id: null,
      title,
      message: 'x'.repeat(bytes),
      type: 'test',
    }),
  );
}

/**
 * Publishes `frame` to `userId` until the server's side of the socket is no longer open (the
 * slow-consumer cut), letting deliveries and writes run between frames; returns how many it took.
 */
export async function floodUntilClosed(bus: Bus, userId: string, server: WebSocket, frame: string): Promise<number> {
  let published = 0;
  while (server.readyState === WebSocket.OPEN) {
    await bus.publishToUsers([userId], { frame, origin: 'test' });
    await new Promise((resolve) => setImmediate(resolve));
    if (++published > 4_000) throw new Error('no slow-consumer cut after 256 MiB');
  }
  return published;
}
