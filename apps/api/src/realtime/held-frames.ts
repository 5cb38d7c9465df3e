/**
 * While a connection resumes, its live frames are held instead of written, then released
 * after the replay minus those the replay already carried. `positionOf` reads the stream and
 * position of a held frame (only held frames are parsed, and only during a resume).
 */
import type { LocalConnection } from './local-connections.ts';

/** A stream key (`m:<conv>`, `e:<conv>`, `u`, `g`) and the frame's position in it. */
export function positionOf(bytes: Uint8Array): { stream: string; position: number } | null {
  let frame: { action?: string; data?: Record<string, unknown> };
  try {
    frame = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return null;
  }
  const d = frame.data ?? {};
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  switch (frame.action) {
    case 'new_message': {
      const seq = num(d.seq);
      return seq === null ? null : { stream: `m:${d.conversation_id}`, position: seq };
    }
    case 'consultation_reply': {
      const seq = num((d.message as Record<string, unknown> | undefined)?.seq);
      return seq === null ? null : { stream: `m:${d.conversation_id}`, position: seq };
    }
    case 'read_status':
    case 'mobile_notification':
    case 'system_notification': {
      const global = num(d.global_seq);
      if (global !== null) return { stream: 'g', position: global };
      const seq = num(d.event_seq);
      return seq === null ? null : { stream: `e:${d.conversation_id}`, position: seq };
    }
    case 'direct_message': {
      const seq = num(d.user_seq);
      return seq === null ? null : { stream: 'u', position: seq };
    }
    default:
      return null;
  }
}

/** Most frames one connection may hold during a resume before it counts as a slow consumer. */
export const MAX_HELD_FRAMES = 10_000;

export function hold(connection: LocalConnection): void {
  clearTimeout(connection.holdTimer);
  connection.held ??= [];
}

/**
 * Write the held frames in arrival order, skipping any whose position is at or below what the
 * replay delivered for its stream; then resume writing live.
 */
export function release(connection: LocalConnection, replayedUpTo: ReadonlyMap<string, number>): number {
  const held = connection.held;
  connection.held = null;
  if (!held) return 0;
  let skipped = 0;
  for (const bytes of held) {
    const at = positionOf(bytes);
    const upTo = at ? replayedUpTo.get(at.stream) : undefined;
    if (at && upTo !== undefined && at.position <= upTo) {
      skipped++;
      continue;
    }
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(bytes, { binary: false });
  }
  return skipped;
}
