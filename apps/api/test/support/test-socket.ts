/**
 * A real `ws` client that queues every server frame so a test can wait for a specific action
 * (with a deadline that names what was awaited) and check that nothing else arrived.
 */
import { decodeServerFrame, type ServerAction, type ServerFrame, type ServerFrameOf } from '@anmei/protocol';
import WebSocket from 'ws';

export class TestSocket {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  readonly #waiters = new Set<() => void>();
  closed: { code: number; reason: string } | null = null;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const decoded = decodeServerFrame(data.toString());
      if (!decoded.ok) throw new Error(`server sent an undecodable frame: ${decoded.message}`);
      this.frames.push(decoded.frame);
      for (const wake of this.#waiters) wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const wake of this.#waiters) wake();
    });
    ws.on('error', () => undefined);
  }

  /** Frames of one action received so far. */
  all<A extends ServerAction>(action: A): ServerFrameOf<A>[] {
    return this.frames.filter((f): f is ServerFrameOf<A> => f.action === action);
  }

  /** Wait until `count` frames of `action` (optionally matching `where`) have arrived; returns them. */
  async waitFor<A extends ServerAction>(
    action: A,
    options: { count?: number; where?: (f: ServerFrameOf<A>) => boolean; timeoutMs?: number } = {},
  ): Promise<ServerFrameOf<A>[]> {
    const { count = 1, where = () => true, timeoutMs = 5_000 } = options;
    const matching = () => this.all(action).filter(where);
    await this.#until(() => matching().length >= count, `${count} "${action}" frame(s)`, timeoutMs);
    return matching();
  }

  waitForClose(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    return this.#until(() => this.closed !== null, 'the socket to close', timeoutMs).then(() => this.closed!);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }

  #until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        const seen = this.frames.map((f) => f.action).join(', ') || 'none';
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames seen: ${seen}`));
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }
}
