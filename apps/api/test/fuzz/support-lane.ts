/**
 * One user's stream of fuzzed frames over real sockets. Frames are pipelined (at most WINDOW
 * unanswered), every answer (`ack`, `pong`, `resumed`, `error`) is matched with the oldest frame that
 * owes one (so answers must come in frame order), and a socket the server closes with a documented
 * code (1007, 1009, 4008) is replaced by a new one. Broadcast frames (another user's message, read
 * receipts, …) are checked to decode and otherwise ignored.
 */
import { decodeServerFrame, type ServerFrame } from '@anmei/protocol';
import WebSocket from 'ws';
import type { ApiClient } from '../support/api-client.ts';
import type { FuzzInput } from './support-frames.ts';
import {
  checkAnswer,
  clip,
  type Expected,
  expectedFor,
  type OracleWorld,
  type SentByClientId,
  type StoredMessage,
} from './support-oracle.ts';

/** Frames in flight per socket: well under the server's 64-frame queue, so RATE_LIMITED stays the exception. */
const WINDOW = 16;
/** ms to wait for any one answer, close or connection. */
const DEADLINE_MS = 15_000;
const ANSWERS = new Set(['ack', 'pong', 'resumed', 'error']);
/** Answers to frames that count as invalid toward the 4008 limit. */
const INVALID_FRAME_CODES: ReadonlySet<string> = new Set([
  'MALFORMED_JSON',
  'UNKNOWN_ACTION',
  'INVALID_FRAME',
  'BINARY_FRAME_UNSUPPORTED',
]);
/** docs/protocol.md: "more than 10 within 10 s" invalid frames are answered, then closed with 4008. */
const INVALID_LIMIT = 10;
const INVALID_WINDOW_MS = 10_000;
/**
 * ms our clock may differ from the server's view of when a frame arrived. Within this margin of a
 * window's end we cannot tell which window the server counted a frame in: the 4008 may then come a
 * little earlier or later than predicted, and is accepted after any invalid frame.
 */
const CLOCK_MARGIN_MS = 2_000;

export class FuzzStats {
  frames = 0;
  readonly kinds: Record<string, number> = {};
  sockets = 0;
  readonly answers: Record<string, number> = {};
  readonly closes: Record<string, number> = {};
  /** Typing / read frames confirmed handled by the answer to a later frame. */
  silent = 0;
  /** Frames sent after the one that ended their socket (ignored by the server, as documented). */
  droppedByClose = 0;
  /** Ticket or upgrade refused with 429 and retried. */
  throttled = 0;

  count(record: Record<string, number>, key: string): void {
    record[key] = (record[key] ?? 0) + 1;
  }
}

interface Pending {
  expected: Expected;
  /** The frame, clipped, for failure messages. */
  label: string;
}

/** Our model of the server's invalid-frame window on one socket. */
interface InvalidWindow {
  start: number;
  count: number;
  /** false once a frame fell within CLOCK_MARGIN_MS of a window's end. */
  exact: boolean;
}

interface Connection {
  ws: WebSocket;
  invalid: InvalidWindow;
  connected: boolean;
  pending: Pending[];
  closed: number | null;
  /** The close the last frame sent must cause: 1007, 1009, 4008, or our own 1000. */
  expectClose: number | null;
  lastAnswer: ServerFrame | null;
}

export interface LaneOptions {
  client: ApiClient;
  username: string;
  userId: string;
  own: ReadonlySet<string>;
  world: OracleWorld;
  stats: FuzzStats;
  /** Every message the fuzz stored, whoever sent it. */
  stored: StoredMessage[];
}

export class Lane {
  readonly failures: string[] = [];
  readonly #o: LaneOptions;
  readonly #sent: SentByClientId = new Map();
  #conn: Connection | null = null;
  #wake: (() => void) | null = null;
  #flushes = 0;

  constructor(options: LaneOptions) {
    this.#o = options;
  }

  /** Sends every input, in order, and waits until each has been answered or its socket closed. */
  async run(inputs: readonly FuzzInput[]): Promise<void> {
    for (const input of inputs) {
      if (this.failures.length > 0) return;
      const { stats } = this.#o;
      stats.frames++;
      stats.count(stats.kinds, input.kind);
      const expected = expectedFor(input, this.#o.own, this.#o.world);
      const conn = await this.#open();
      if (expected.kind === 'close') {
        await this.#end(conn, input, expected.code);
        continue;
      }
      const last = isInvalid(expected) ? countInvalid(conn.invalid) : false;
      // The frame that passes the limit goes alone, so no frame after it is lost with the socket.
      if (last) await this.drain();
      await this.#until(() => conn.pending.length < WINDOW || conn.closed !== null, 'room in the window');
      if (conn.closed !== null) {
        // Closed (4008) while this frame waited: it goes on the replacement instead.
        await this.#retry(input);
        continue;
      }
      conn.pending.push({ expected, label: describe(input) });
      send(conn.ws, input);
      if (last === 'exact') {
        conn.expectClose = 4008;
        await this.#until(() => conn.closed !== null, `close 4008 after ${INVALID_LIMIT + 1} invalid frames`);
      }
    }
    await this.drain();
  }

  /** Waits until every frame sent so far is answered: a final ping proves the silent ones were handled. */
  async drain(): Promise<void> {
    const conn = this.#conn;
    while (conn && conn.closed === null && conn.pending.length > 0 && this.failures.length === 0) {
      const ts = -++this.#flushes - 0.5;
      conn.pending.push({ expected: { kind: 'pong', requestId: null, ts }, label: `flush ping ${ts}` });
      conn.ws.send(JSON.stringify({ action: 'ping', data: { ts } }));
      await this.#until(() => conn.pending.length === 0 || conn.closed !== null, 'answers to every frame sent');
    }
  }

  async close(): Promise<void> {
    await this.drain();
    const conn = this.#conn;
    this.#conn = null;
    if (!conn || conn.closed !== null) return;
    conn.expectClose = 1000;
    conn.ws.close(1000);
    await this.#until(() => conn.closed !== null, 'our own close');
  }

  /** A frame that must end the socket: drain first, so no answer is owed, then expect exactly this close. */
  async #end(conn: Connection, input: FuzzInput, code: number): Promise<void> {
    await this.drain();
    if (conn.closed !== null) return this.#retry(input);
    conn.expectClose = code;
    send(conn.ws, input);
    await this.#until(() => conn.closed !== null, `close ${code} after ${describe(input)}`);
  }

  /** Runs `input` again on a new socket, counted once. */
  #retry(input: FuzzInput): Promise<void> {
    this.#o.stats.frames--;
    this.#o.stats.kinds[input.kind]!--;
    return this.run([input]);
  }

  async #open(): Promise<Connection> {
    if (this.#conn && this.#conn.closed === null) return this.#conn;
    const { client, username, stats } = this.#o;
    for (let attempt = 0; ; attempt++) {
      const { token } = await client.login(username);
      const ticket = await client.http('POST', '/api/v1/ws/ticket', { token });
      if (ticket.status === 429 && attempt < 20) {
        stats.throttled++;
        await retryAfter(ticket.headers.get('retry-after'));
        continue;
      }
      if (ticket.status !== 200)
        throw new Error(`ticket for ${username}: ${ticket.status} ${JSON.stringify(ticket.body)}`);
      const ws = new WebSocket(`${client.wsUrl}?ticket=${encodeURIComponent(ticket.body.ticket)}`);
      const conn: Connection = {
        ws,
        invalid: { start: 0, count: 0, exact: true },
        connected: false,
        pending: [],
        closed: null,
        expectClose: null,
        lastAnswer: null,
      };
      this.#conn = conn;
      let refused: number | null = null;
      ws.on('unexpected-response', (_req, res) => {
        refused = res.statusCode ?? 0;
        res.resume();
        ws.terminate();
      });
      ws.on('error', () => undefined);
      ws.on('message', (data, isBinary) => this.#onMessage(conn, data.toString(), isBinary));
      ws.on('close', (code) => this.#onClose(conn, code));
      await this.#until(() => conn.connected || conn.closed !== null, `"connected" for ${username}`);
      if (this.failures.length > 0) throw new Error(this.failures[0]);
      if (conn.connected) {
        stats.sockets++;
        return conn;
      }
      if (refused === 429 && attempt < 20) {
        stats.throttled++;
        await retryAfter(null);
        continue;
      }
      throw new Error(`socket for ${username} not opened: upgrade status ${refused}, close ${conn.closed}`);
    }
  }

  #onMessage(conn: Connection, text: string, isBinary: boolean): void {
    const decoded = decodeServerFrame(text);
    if (isBinary || !decoded.ok) {
      this.#fail(`server sent a frame that does not decode: ${clip(text)}`);
      return;
    }
    const frame = decoded.frame;
    if (frame.action === 'connected') {
      conn.connected = true;
    } else if (ANSWERS.has(frame.action) || (frame.action === 'presence' && frame.data.reason === 'watch')) {
      this.#onAnswer(conn, frame);
    }
    this.#wake?.();
  }

  #onAnswer(conn: Connection, frame: ServerFrame): void {
    const { stats } = this.#o;
    conn.lastAnswer = frame;
    stats.count(stats.answers, frame.action === 'error' ? frame.data.code : frame.action);
    if (frame.action === 'error' && frame.data.code === 'RATE_LIMITED') {
      // Documented to overtake earlier answers; the frame was not run. Only a decoded frame can be
      // refused so, and it is named by its request_id (ambiguous only between frames without one;
      // the fuzz raises the frame rate limit, so only the 64-frame queue could refuse, and it stays under it).
      const i = conn.pending.findIndex(
        (p) => 'requestId' in p.expected && p.expected.requestId === frame.data.request_id && !isInvalid(p.expected),
      );
      if (i < 0) this.#fail(`RATE_LIMITED for no frame in flight: ${clip(JSON.stringify(frame))}`);
      else conn.pending.splice(i, 1);
      return;
    }
    // Silent frames before the first frame that owes an answer were handled before it (frame order).
    const owed = conn.pending.findIndex((p) => p.expected.kind !== 'silent');
    if (owed < 0) {
      this.#fail(`answer with none owed: ${clip(JSON.stringify(frame))}`);
      return;
    }
    const entry = conn.pending[owed]!;
    const problem = checkAnswer(entry.expected, frame, { userId: this.#o.userId, sent: this.#sent }, (m) =>
      this.#o.stored.push(m),
    );
    if (problem) {
      const before = conn.pending.slice(0, owed).map((p) => p.label);
      this.#fail(
        `${this.#o.username}: frame ${entry.label}: ${problem}${before.length ? `; after silent ${before.join(' | ')}` : ''}`,
      );
    }
    stats.silent += owed;
    conn.pending.splice(0, owed + 1);
  }

  #onClose(conn: Connection, code: number): void {
    conn.closed = code;
    const { stats, username } = this.#o;
    if (conn.connected) stats.count(stats.closes, String(code));
    const owed = conn.pending.filter((p) => p.expected.kind !== 'silent');
    if (conn.expectClose !== null) {
      if (code !== conn.expectClose) this.#fail(`${username}: expected close ${conn.expectClose}, got ${code}`);
      // 4008 comes after the error frame for the last invalid frame; 1007 / 1009 / 1000 after a drain.
      else if (owed.length > 0)
        this.#fail(`${username}: closed ${code} while owing ${owed.map((p) => p.label).join(' | ')}`);
    } else if (code === 4008 && !conn.invalid.exact) {
      const last = conn.lastAnswer;
      if (last?.action !== 'error' || !INVALID_FRAME_CODES.has(last.data.code)) {
        this.#fail(`${username}: 4008 after ${clip(JSON.stringify(last))}, not after an invalid frame`);
      }
      stats.droppedByClose += owed.length;
    } else if (conn.connected) {
      const { count, start } = conn.invalid;
      this.#fail(`${username}: closed with ${code} after ${count} invalid frames in ${Date.now() - start} ms`);
    }
    conn.pending.length = 0;
    this.#wake?.();
  }

  #fail(message: string): void {
    this.failures.push(message);
    this.#wake?.();
  }

  #until(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done() && this.failures.length === 0) return;
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(() => {
        this.#wake = null;
        const owed = this.#conn?.pending.map((p) => p.label).join(' | ');
        reject(new Error(`${this.#o.username}: no ${what} within ${DEADLINE_MS} ms; still owed: ${owed}`));
      }, DEADLINE_MS);
      this.#wake = check;
      check();
    });
  }
}

function isInvalid(expected: Expected): boolean {
  return expected.kind === 'error' && INVALID_FRAME_CODES.has(expected.code);
}

/** Counts one invalid frame as the server does; says whether it passes the limit (surely, or maybe). */
function countInvalid(window: InvalidWindow): 'exact' | 'maybe' | false {
  const now = Date.now();
  const age = now - window.start;
  if (Math.abs(age - INVALID_WINDOW_MS) < CLOCK_MARGIN_MS) window.exact = false;
  if (age > INVALID_WINDOW_MS) {
    window.start = now;
    window.count = 0;
  }
  window.count++;
  if (window.count <= INVALID_LIMIT) return false;
  return window.exact ? 'exact' : 'maybe';
}

function send(ws: WebSocket, input: FuzzInput): void {
  switch (input.kind) {
    case 'text':
      ws.send(input.text);
      return;
    case 'binary':
      ws.send(input.bytes, { binary: true });
      return;
    case 'badUtf8':
      // ws sends the bytes as they are in a text frame; it does not check outgoing UTF-8.
      ws.send(input.bytes, { binary: false });
      return;
    case 'oversized':
      ws.send(Buffer.alloc(input.size, 0x20), { binary: input.binary });
      return;
  }
}

function describe(input: FuzzInput): string {
  switch (input.kind) {
    case 'text':
      return clip(JSON.stringify(input.text), 160);
    case 'binary':
      return `binary(${input.bytes.length} bytes)`;
    case 'badUtf8':
      return `text bytes ${Buffer.from(input.bytes).toString('hex')}`;
    case 'oversized':
      return `${input.binary ? 'binary' : 'text'}(${input.size} bytes)`;
  }
}

function retryAfter(header: string | null): Promise<void> {
  const seconds = Math.min(Number(header) || 1, 10);
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}
