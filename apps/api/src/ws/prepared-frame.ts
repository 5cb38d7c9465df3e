/**
 * A broadcast's WebSocket frame built once and written as the same bytes to every recipient.
 *
 * Why: a server's frames are not masked (RFC 6455 §5.1), so the frame of a broadcast — header and
 * payload — is byte for byte the same for every recipient. ws's `send` builds a header per call and
 * writes header and payload as two chunks under a cork (one `writev` of two buffers); writing the
 * prepared frame is one `write` of one Buffer. This is what uWebSockets.js calls a prepared message;
 * ws has no API for it, so the header comes from ws's own `Sender.frame` and the bytes go to ws's
 * TCP socket. That is safe only while ws's sender would itself write at once, in call order: no
 * permessage-deflate (the gateway turns it off) and no Blob sends (we send none), so its queue is
 * always empty and our writes and its writes (acks, pings, close) keep their order. docs/benchmarks.md
 * (round 6, goal 4) has the measurement.
 */

import type { WebSocket } from 'ws';
import * as ws from 'ws';

export interface PreparedFrame {
  /** The frame's payload (UTF-8 JSON): what a resume's hold keeps and parses, and the delivery counter counts. */
  readonly payload: Uint8Array;
  /** Header + payload: an unmasked, final text frame as it goes on the wire. */
  readonly wire: Buffer;
}

/** ws keeps the TCP socket here (null before it is set and after it is gone). */
interface WithTcpSocket {
  _socket?: { write(chunk: Buffer): boolean } | null;
}

/** Options of `Sender.frame` for an unmasked, final, uncompressed text frame; `readOnly`: the payload is not modified. */
const TEXT_FRAME = { fin: true, opcode: 0x01, mask: false, readOnly: true, rsv1: false } as const;

/** ws's frame builder; @types/ws does not declare the `Sender` export of ws 8. */
interface FrameBuilder {
  frame(data: Buffer, options: typeof TEXT_FRAME): Buffer[];
}

const sender = (ws as unknown as { Sender?: FrameBuilder }).Sender;
if (typeof sender?.frame !== 'function') {
  throw new Error('ws no longer exports Sender.frame (ws 8 does); prepared broadcast frames need it: pin ws 8.x');
}
const frameBuilder: FrameBuilder = sender;

/** Once per broadcast: the frame of `payload` as a text frame. */
export function prepareTextFrame(payload: Uint8Array): PreparedFrame {
  const parts = frameBuilder.frame(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), TEXT_FRAME);
  return { payload, wire: Buffer.concat(parts) };
}

/**
 * Write a prepared frame to an open server socket. The caller checked `readyState === OPEN`,
 * which rules out a close frame already sent. Falls back to ws's `send` if ws holds no TCP socket.
 */
export function writePrepared(socket: WebSocket, frame: PreparedFrame): void {
  const tcp = (socket as unknown as WithTcpSocket)._socket;
  if (tcp) tcp.write(frame.wire);
  else socket.send(frame.payload, { binary: false });
}
