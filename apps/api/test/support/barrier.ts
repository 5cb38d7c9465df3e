/**
 * Proves that a frame did NOT arrive without sleeping: publish an instance-wide notice after
 * the action under test and wait until every socket has it. The bus keeps publish order and
 * each socket is one ordered TCP stream, so anything the action sent would already be there.
 */
import { randomUUID } from 'node:crypto';
import type { TestApp } from './test-app.ts';
import type { TestSocket } from './test-socket.ts';

export async function barrier(app: TestApp, sockets: readonly TestSocket[]): Promise<void> {
  const marker = `barrier-${randomUUID()}`;
  await app.built.ctx.broadcasting.broadcastSystemNotificationToAll({ title: marker, message: marker, type: 'test' });
  await Promise.all(sockets.map((s) => s.waitFor('system_notification', { where: (f) => f.data.title === marker })));
}

/** Frames a socket got, minus connection bookkeeping and barrier markers. */
export function businessFrames(socket: TestSocket): string[] {
  return socket.frames
    .filter((f) => f.action !== 'connected' && f.action !== 'pong')
    .filter((f) => !(f.action === 'system_notification' && f.data.title.startsWith('barrier-')))
    .map((f) => f.action);
}
