/**
 * Frames held while a connection resumes (SocketWriter holds and releases them): how many one
 * connection may hold, and which of them the replay already carried. Only held frames are parsed,
 * only when the replay carried something; which action sits in which stream is the protocol's
 * table (`streamPositionOf`), not decided here.
 */
import { type ServerFrame, streamPositionOf } from '@anmei/protocol';

/** Most frames one connection may hold during a resume before it counts as a slow consumer. */
export const MAX_HELD_FRAMES = 10_000;

const utf8 = new TextDecoder();

/** True when the replay carried this frame: its position is at or below what was replayed for its stream. */
export function wasReplayed(bytes: Uint8Array, replayedUpTo: ReadonlyMap<string, number>): boolean {
  if (replayedUpTo.size === 0) return false;
  let at: ReturnType<typeof streamPositionOf>;
  try {
    // Bytes this server encoded itself (never a client's), so they are read without validation;
    // anything unreadable is not a replayed frame and is written as it is.
    at = streamPositionOf(JSON.parse(utf8.decode(bytes)) as ServerFrame);
  } catch {
    return false;
  }
  if (at === null) return false;
  const upTo = replayedUpTo.get(at.stream);
  return upTo !== undefined && at.position <= upTo;
}
