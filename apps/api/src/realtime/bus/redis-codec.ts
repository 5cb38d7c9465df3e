/**
 * The bytes of one bus message: a one-line JSON header, `\n`, then the frame exactly as
 * the publisher serialized it. Receivers parse only the small header and hand the frame
 * bytes to sockets untouched (JSON.stringify escapes newlines, so the first `\n` ends the header).
 */
import { CONNECTION_TYPES, type ConnectionType, DEVICE_TYPES, type DeviceType } from '@anmei/protocol';
import type { ControlMessage, Envelope } from '../types.ts';

interface Header {
  /** Bus instance that published (to ignore its own echo). */
  b: string;
  /** Envelope origin. */
  o: string;
  d?: readonly DeviceType[];
  c?: ConnectionType;
  /** Connection to skip. */
  x?: string;
  /** Control message (then the frame part is empty). */
  k?: ControlMessage;
}

const NEWLINE = 0x0a;

export function encodeBusMessage(busId: string, envelope: Envelope): Buffer {
  const header: Header = { b: busId, o: envelope.origin };
  if (envelope.deviceTypes) header.d = envelope.deviceTypes;
  if (envelope.connectionType) header.c = envelope.connectionType;
  if (envelope.control) header.k = envelope.control;
  if (envelope.excludeConnectionId) header.x = envelope.excludeConnectionId;
  const frame = typeof envelope.frame === 'string' ? Buffer.from(envelope.frame) : envelope.frame;
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), frame]);
}

/** Returns null for a message that is not ours (a foreign publisher on our channel). */
export function decodeBusMessage(message: Buffer): { busId: string; envelope: Envelope } | null {
  const end = message.indexOf(NEWLINE);
  if (end < 0) return null;
  let header: unknown;
  try {
    header = JSON.parse(message.subarray(0, end).toString('utf8'));
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null) return null;
  const h = header as Partial<Header>;
  if (typeof h.b !== 'string' || typeof h.o !== 'string') return null;
  const envelope: Envelope = { frame: message.subarray(end + 1), origin: h.o };
  if (Array.isArray(h.d) && h.d.every((d) => DEVICE_TYPES.includes(d))) envelope.deviceTypes = h.d;
  if (typeof h.c === 'string' && CONNECTION_TYPES.includes(h.c)) envelope.connectionType = h.c;
  if (typeof h.x === 'string') envelope.excludeConnectionId = h.x;
  if (h.k && typeof h.k === 'object' && h.k.type === 'participants_changed' && typeof h.k.conversationId === 'string') {
    envelope.control = { type: h.k.type, conversationId: h.k.conversationId };
  }
  return { busId: h.b, envelope };
}
