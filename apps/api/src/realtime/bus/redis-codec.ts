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
 * `encodeRecordMeta` for one publisher, the same bytes with less work: a chat envelope's header
 * is the publisher's id, its origin (almost always one instance) and at most a connection to
 * skip, so the JSON up to the origin is kept and only the rest is written per record. Envelopes
 * with device types, a connection type or a control message take the general path.
 */
export class RecordMetaEncoder {
  readonly #busId: string;
  #origin: string | null = null;
  /** `{"b":<busId>,"o":<origin>` for `#origin`. */
  #prefix = '';

  constructor(busId: string) {
    this.#busId = busId;
  }

  encode(envelope: Envelope, frameLength: number): string {
    if (envelope.deviceTypes || envelope.connectionType || envelope.control) {
      return encodeRecordMeta(this.#busId, envelope, frameLength);
    }
    if (envelope.origin !== this.#origin) {
      this.#origin = envelope.origin;
      this.#prefix = JSON.stringify({ b: this.#busId, o: envelope.origin }).slice(0, -1);
    }
    const skip = envelope.excludeConnectionId;
    return skip
      ? `${this.#prefix},"x":${JSON.stringify(skip)},"n":${frameLength}}`
      : `${this.#prefix},"n":${frameLength}}`;
  }
}

function checkRecipient(id: string): void {
  if (id.length === 0 || id.includes(' ') || id.includes('\n')) {
    throw new TypeError(`bus: user id ${JSON.stringify(id)} is empty or contains a space or a line break`);
  }
}

/** Ids kept by a RecipientsLineEncoder; past it the set starts over (a cache, not a registry). */
const MAX_CHECKED_IDS = 100_000;

/**
 * The recipients line of a per-instance record, without its newline: the user ids separated by
 * one space (the routing script splits it the same way). An id containing a space or a line
 * break would be read as other users, so it is refused (ours are UUIDs). Each id is checked once
 * per publisher: a conversation's members are published to again and again, as the same strings
 * (the participant cache's), whose hash V8 keeps, so a set look-up costs less than scanning each
 * id twice.
 */
export class RecipientsLineEncoder {
  readonly #checked = new Set<string>();

  encode(userIds: readonly string[]): string {
    const checked = this.#checked;
    for (const id of userIds) {
      if (checked.has(id)) continue;
      checkRecipient(id);
      if (checked.size >= MAX_CHECKED_IDS) checked.clear();
      checked.add(id);
    }
    return userIds.join(' ');
  }
}

export interface BusRecord {
  busId: string;
  envelope: Envelope;
  /** The recipients line: user ids separated by one space ('' for none). */
  recipients: string;
}

/** `,"n":`: a record header's last key, written last by encodeRecordMeta and RecordMetaEncoder. */
const LENGTH_KEY = Buffer.from(',"n":');
const CLOSE_BRACE = 0x7d;
/** Digits of a frame length read without JSON.parse (more would pass 2^53). */
const MAX_LENGTH_DIGITS = 15;

type ParsedHeader = Partial<Header> & { b: string; o: string };

/**
 * Splits per-instance messages into their records (`<recipients>\n<header>\n<frame>` each).
 *
 * A publisher writes the same header for record after record but for `n`, the frame's length
 * (RecordMetaEncoder), so the decoder keeps the last header parsed and the bytes before its
 * `,"n":`; a header that starts with the same bytes and ends `,"n":<digits>}` is that header
 * with another length, read without JSON.parse. Anything else is parsed in full.
 */
export class RecordDecoder {
  /** The last header's bytes up to its `,"n":` (a copy), empty when none is kept. */
  #prefix = Buffer.alloc(0);
  #header: ParsedHeader | null = null;
  /** The frame length the header read last states. */
  #length = Number.NaN;
  /** The length `#lengthTail` read last. */
  #tailLength = -1;

  /**
   * Stops at the first malformed record and reports it (`malformed: true`); the records before
   * it are still returned.
   */
  decode(message: Buffer): { records: BusRecord[]; malformed: boolean } {
    const records: BusRecord[] = [];
    let offset = 0;
    while (offset < message.length) {
      const targetsEnd = message.indexOf(NEWLINE, offset);
      const headerEnd = targetsEnd < 0 ? -1 : message.indexOf(NEWLINE, targetsEnd + 1);
      if (headerEnd < 0) return { records, malformed: true };
      const h = this.#headerAt(message, targetsEnd + 1, headerEnd);
      const n = this.#length;
      if (!h || !(n >= 0) || headerEnd + 1 + n > message.length) return { records, malformed: true };
      const frame = message.subarray(headerEnd + 1, headerEnd + 1 + n);
      records.push({
        busId: h.b,
        envelope: envelopeOf(h, frame),
        recipients: targetsEnd === offset ? '' : message.toString('utf8', offset, targetsEnd),
      });
      offset = headerEnd + 1 + n;
    }
    return { records, malformed: false };
  }

  /**
   * The header in `message[start, end)`; null when it is not a header of ours. Its `n` is left
   * in `#length` (NaN when it has none), so a kept header is returned as it is.
   */
  #headerAt(message: Buffer, start: number, end: number): ParsedHeader | null {
    const keyAt = this.#lengthTail(message, start, end);
    const kept = this.#header;
    if (
      keyAt >= 0 &&
      kept !== null &&
      keyAt - start === this.#prefix.length &&
      message.compare(this.#prefix, 0, this.#prefix.length, start, keyAt) === 0
    ) {
      this.#length = this.#tailLength;
      return kept;
    }
    const h = parseHeader(message.subarray(start, end));
    this.#length = typeof h?.n === 'number' ? h.n : Number.NaN;
    // Kept only when JSON.parse read the same length from the same tail (a top-level last key).
    if (h !== null && keyAt >= 0 && h.n === this.#tailLength) {
      this.#prefix = Buffer.from(message.subarray(start, keyAt));
      this.#header = h;
    }
    return h;
  }

  /**
   * Where the header's closing `,"n":<digits>}` starts, its length left in `#tailLength`; -1 when
   * the header does not end that way (or states the length with a leading zero, which JSON refuses).
   */
  #lengthTail(message: Buffer, start: number, end: number): number {
    let at = end - 1;
    if (at <= start || message[at] !== CLOSE_BRACE) return -1;
    let length = 0;
    let scale = 1;
    let digits = 0;
    for (at--; at > start; at--) {
      const byte = message[at]!;
      if (byte < 0x30 || byte > 0x39) break;
      if (++digits > MAX_LENGTH_DIGITS) return -1;
      length += (byte - 0x30) * scale;
      scale *= 10;
    }
    if (digits === 0 || (digits > 1 && message[at + 1] === 0x30)) return -1;
    const keyAt = at - LENGTH_KEY.length + 1;
    if (keyAt <= start || message.compare(LENGTH_KEY, 0, LENGTH_KEY.length, keyAt, at + 1) !== 0) return -1;
    this.#tailLength = length;
    return keyAt;
  }
}

/** Returns null for a message that is not ours (a foreign publisher on our channel). */
export function decodeBusMessage(message: Buffer): { busId: string; envelope: Envelope } | null {
  const end = message.indexOf(NEWLINE);
  if (end < 0) return null;
  const h = parseHeader(message.subarray(0, end));
  if (!h) return null;
  return { busId: h.b, envelope: envelopeOf(h, message.subarray(end + 1)) };
}

function parseHeader(bytes: Buffer): ParsedHeader | null {
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null) return null;
  const h = header as Partial<Header>;
  if (typeof h.b !== 'string' || typeof h.o !== 'string') return null;
  return h as ParsedHeader;
}

function envelopeOf(h: ParsedHeader, frame: Buffer): Envelope {
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
