/**
 * The bytes of one bus message: a one-line JSON header, `\n`, then the frame exactly as
 * the publisher serialized it. Receivers parse only the small header and hand the frame
 * bytes to sockets untouched (JSON.stringify escapes newlines, so the first `\n` ends the header).
 *
 * A per-instance message (redis-instance-routing.ts) is a sequence of such records whose
 * headers also carry `t` (the publish's recipients) and `n` (the frame's length in bytes).
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
  /** Per-instance records only: the publish's recipients (a receiver delivers to those it holds). */
  t?: string[];
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
 * The header line of a per-instance record, `\n` included: the envelope's header plus `t` (every
 * recipient of the publish, as a JSON array; each receiving instance delivers to those it holds)
 * and `n` (the frame's length in bytes). The frame's bytes follow it in the record.
 */
export function encodeRecordHeader(
  busId: string,
  envelope: Envelope,
  targetsJson: string,
  frameLength: number,
): string {
  const head = JSON.stringify(headerOf(busId, envelope));
  return `${head.slice(0, -1)},"t":${targetsJson},"n":${frameLength}}\n`;
}

export interface BusRecord {
  busId: string;
  envelope: Envelope;
  targets: string[];
}

/**
 * Splits a per-instance message into its records. Stops at the first malformed record and
 * reports it (`malformed: true`); the records before it are still returned.
 */
export function decodeRecords(message: Buffer): { records: BusRecord[]; malformed: boolean } {
  const records: BusRecord[] = [];
  let offset = 0;
  while (offset < message.length) {
    const end = message.indexOf(NEWLINE, offset);
    if (end < 0) return { records, malformed: true };
    const h = parseHeader(message.subarray(offset, end));
    if (!h || !Array.isArray(h.t) || typeof h.n !== 'number' || end + 1 + h.n > message.length) {
      return { records, malformed: true };
    }
    const frame = message.subarray(end + 1, end + 1 + h.n);
    records.push({
      busId: h.b,
      envelope: envelopeOf(h, frame),
      targets: h.t.filter((t) => typeof t === 'string'),
    });
    offset = end + 1 + h.n;
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
  if (h.k && typeof h.k === 'object' && h.k.type === 'participants_changed' && typeof h.k.conversationId === 'string') {
    envelope.control = { type: h.k.type, conversationId: h.k.conversationId };
  }
  return envelope;
}
