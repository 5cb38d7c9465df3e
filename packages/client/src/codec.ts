/**
 * The serializer seam (seed: core/serializer.ts). The client only ever calls `encode` on
 * client frames and `decode` on text from the socket, so another codec (e.g. one that logs,
 * compresses or validates differently) can be swapped in through the `codec` option.
 */
import { type ClientFrame, type DecodeResult, decodeServerFrame, type ServerFrame } from '@anmei/protocol';

export interface Codec {
  /** Client frame -> the exact text sent on the socket. Must not throw for a valid frame. */
  encode(frame: ClientFrame): string;
  /**
   * Socket text -> a validated server frame, or a failure with a catalogued code. Must not throw:
   * incoming data is untrusted, and a bad frame is reported and skipped, never fatal.
   */
  decode(text: string): DecodeResult<ServerFrame>;
}

/** JSON text frames, validated against the protocol's schemas (the default). */
export const jsonCodec: Codec = {
  encode: (frame) => JSON.stringify(frame),
  decode: (text) => decodeServerFrame(text),
};

/** UTF-8 size of a text frame in bytes, which is what the server's max payload limit counts. */
export function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}
