/**
 * Frames handed to this instance's sockets by action (`anmei_ws_frames_delivered_total`), counted
 * on the fan-out path (LocalConnections.deliver) once per envelope, with the number of sockets it
 * reached. prom-client hashes the label values on every `inc()`, so the counts are plain numbers
 * here, moved into the counter when it is collected (at scrape time).
 */
import { ServerAction } from '@anmei/protocol';
import type { Counter } from 'prom-client';

/** The actions that reach sockets through LocalConnections.deliver (their series start at 0). */
const FANNED_OUT_ACTIONS: readonly ServerAction[] = [
  ServerAction.newMessage,
  ServerAction.consultationReply,
  ServerAction.typingStatus,
  ServerAction.readStatus,
  ServerAction.systemNotification,
  ServerAction.directMessage,
  ServerAction.mobileNotification,
  ServerAction.eventSkipped,
  ServerAction.positions,
  ServerAction.stats,
];

/** `{"action":"` — every server frame starts so (serverFrame builds `{action, data, timestamp}`). */
const ACTION_PREFIX = Buffer.from('{"action":"');
const QUOTE = 0x22;

interface Slot {
  readonly action: string;
  readonly bytes: Buffer;
  pending: number;
}

/**
 * Frames handed to local sockets by action (`anmei_ws_frames_delivered_total`), counted once per
 * envelope with the number of sockets it reached. The action is read from the frame's bytes (a
 * few byte comparisons, no string), and the count is a plain number the counter collects at
 * scrape time: nothing per recipient, no allocation, no label hashing on the fan-out path.
 */
export class DeliveryCounter {
  /** Known actions by the byte length of their name. */
  readonly #byLength: Slot[][] = [];
  readonly #other: Slot;
  readonly #slots: Slot[] = [];

  constructor(counter: Counter<'action'>) {
    for (const action of Object.values(ServerAction)) {
      const slot: Slot = { action, bytes: Buffer.from(action), pending: 0 };
      const sameLength = this.#byLength[slot.bytes.length] ?? [];
      sameLength.push(slot);
      this.#byLength[slot.bytes.length] = sameLength;
      this.#slots.push(slot);
    }
    this.#other = { action: 'other', bytes: Buffer.alloc(0), pending: 0 };
    this.#slots.push(this.#other);
    for (const action of [...FANNED_OUT_ACTIONS, 'other']) counter.inc({ action }, 0);
  }

  /** `frame` reached `sockets` local sockets (written, or held for a resuming one). */
  count(frame: Uint8Array, sockets: number): void {
    if (sockets === 0) return;
    this.#slotOf(frame).pending += sockets;
  }

  /** Moves the counts into the counter (its `collect`). */
  flush(counter: Counter<'action'>): void {
    for (const slot of this.#slots) {
      if (slot.pending === 0) continue;
      counter.inc({ action: slot.action }, slot.pending);
      slot.pending = 0;
    }
  }

  #slotOf(frame: Uint8Array): Slot {
    const start = ACTION_PREFIX.length;
    for (let i = 0; i < start; i++) if (frame[i] !== ACTION_PREFIX[i]) return this.#other;
    let end = start;
    const limit = Math.min(frame.length, start + this.#byLength.length);
    while (end < limit && frame[end] !== QUOTE) end++;
    const candidates = this.#byLength[end - start];
    if (end === limit || candidates === undefined) return this.#other;
    for (let c = 0; c < candidates.length; c++) {
      const slot = candidates[c] as Slot;
      let i = 0;
      while (i < slot.bytes.length && frame[start + i] === slot.bytes[i]) i++;
      if (i === slot.bytes.length) return slot;
    }
    return this.#other;
  }
}
