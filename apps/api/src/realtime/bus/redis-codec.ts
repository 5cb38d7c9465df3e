/**
 * The bytes of one bus message: a one-line JSON header, `\n`, then the frame exactly as
 * the publisher serialized it. Receivers parse only the small header and hand the frame
 * bytes to sockets untouched (JSON.stringify escapes newlines, so the first `\n` ends the header).
 *
 * A per-instance message (redis-instance-routing.ts) is a sequence of records, each a line of
 * the publish's recipients (space-separated user ids, read by the routing script too), then
 * such a header line that also carries `n` (the frame's length in bytes), then the frame.
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
  /** Per-instance records only: the frame's length in bytes. */
  n?: number;
}

const NEWLINE = 0x0a;

function headerOf(busId: string, envelope: Envelope): Header {
  const header: Header = { b: busId, o: envelope.origin };
  if (envelope.deviceTypes) header.d = envelope.deviceTypes;
  if (envelope.connectionType) header.c = envelope.connectionType;
  if (envelope.control) header.k = envelope.control;
  if (envelope.excludeConnectionId) header.x = envelope.excludeConnectionId;
  return header;
}

export function frameBytes(envelope: Envelope): Buffer {
  const { frame } = envelope;
  if (typeof frame === 'string') return Buffer.from(frame);
  return Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

export function encodeBusMessage(busId: string, envelope: Envelope): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(headerOf(busId, envelope))}\n`), frameBytes(envelope)]);
}

/**
 * The header line of a per-instance record, without its newline: the envelope's header plus
 * `n`, the frame's length in bytes.
 */
export function encodeRecordMeta(busId: string, envelope: Envelope, frameLength: number): string {
  const head = JSON.stringify(headerOf(busId, envelope));
  return `${head.slice(0, -1)},"n":${frameLength}}`;
}

/**
 * The recipients line of a per-instance record, without its newline: the user ids separated by
 * one space (the routing script splits it the same way). An id containing a space or a line
 * break would be read as other users, so it is refused (ours are UUIDs).
 */
export function encodeRecordTargets(userIds: readonly string[]): string {
  for (const id of userIds) {
    if (id.length === 0 || id.includes(' ') || id.includes('\n')) {
      throw new TypeError(`bus: user id ${JSON.stringify(id)} is empty or contains a space or a line break`);
    }
  }
  return userIds.join(' ');
}

export interface BusRecord {
  busId: string;
  envelope: Envelope;
  targets: string[];
}

/**
 * Splits a per-instance message into its records (`<recipients>\n<header>\n<frame>` each).
 * Stops at the first malformed record and reports it (`malformed: true`); the records before
 * it are still returned.
 */
export function decodeRecords(message: Buffer): { records: BusRecord[]; malformed: boolean } {
  const records: BusRecord[] = [];
  let offset = 0;
  while (offset < message.length) {
    const targetsEnd = message.indexOf(NEWLINE, offset);
    const headerEnd = targetsEnd < 0 ? -1 : message.indexOf(NEWLINE, targetsEnd + 1);
    if (headerEnd < 0) return { records, malformed: true };
    const h = parseHeader(message.subarray(targetsEnd + 1, headerEnd));
    if (!h || typeof h.n !== 'number' || !(h.n >= 0) || headerEnd + 1 + h.n > message.length) {
      return { records, malformed: true };
    }
    const frame = message.subarray(headerEnd + 1, headerEnd + 1 + h.n);
    records.push({
      busId: h.b,
      envelope: envelopeOf(h, frame),
      targets: targetsEnd === offset ? [] : message.toString('utf8', offset, targetsEnd).split(' '),
    });
    offset = headerEnd + 1 + h.n;
  }
  return { records, malformed: false };
}

/** Returns null for a message that is not ours (a foreign publisher on our channel). */
export function decodeBusMessage(message: Buffer): { busId: string; envelope: Envelope } | null {
  const end = message.indexOf(NEWLINE);
  if (end < 0) return null;
  const h = parseHeader(message.subarray(0, end));
  if (!h) return null;
  return { busId: h.b, envelope: envelopeOf(h, message.subarray(end + 1)) };
}

function parseHeader(bytes: Buffer): (Partial<Header> & { b: string; o: string }) | null {
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null) return null;
  const h = header as Partial<Header>;
  if (typeof h.b !== 'string' || typeof h.o !== 'string') return null;
  return h as Partial<Header> & { b: string; o: string };
}

function envelopeOf(h: Partial<Header> & { o: string }, frame: Buffer): Envelope {
  const envelope: Envelope = { frame, origin: h.o };
  if (Array.isArray(h.d) && h.d.every((d) => DEVICE_TYPES.includes(d))) envelope.deviceTypes = h.d;
  if (typeof h.c === 'string' && CONNECTION_TYPES.includes(h.c)) envelope.connectionType = h.c;
  if (typeof h.x === 'string') envelope.excludeConnectionId = h.x;
  if (h.k && typeof h.k === 'object') {
    if (h.k.type === 'participants_changed' && typeof h.k.conversationId === 'string') {
      envelope.control = { type: h.k.type, conversationId: h.k.conversationId };
    } else if (h.k.type === 'check_positions') {
      envelope.control = { type: 'check_positions' };
    }
  }
  return envelope;
}
