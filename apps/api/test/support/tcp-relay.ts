/**
 * A TCP relay owned by a test, between the code under test and a real server (Postgres):
 * the test can cut every connection, take the relay down and bring it back on the same port,
 * or freeze it, at the moment it chooses, as a network failure or a database outage would.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  /** The port the code under test connects to (stable across pause/resume). */
  readonly port: number;
  /** Destroys every relayed connection; new ones are still accepted. */
  cut(): void;
  /** Cuts every connection and stops accepting: connects are refused until resume(). */
  pause(): Promise<void>;
  /** Accepts connections again on the same port. */
  resume(): Promise<void>;
  /**
   * Packets dropped, not refused: every connection stays open but no byte is forwarded in either
   * direction, and a connection opened meanwhile is accepted but not relayed, until thaw().
   * Nothing is lost: bytes wait in the sockets' buffers and flow on thaw, as TCP retransmits
   * them once a route comes back. The relay's kernel still acknowledges what it receives, so the
   * code under test sees a server that went silent (its own timeouts fire), not TCP's timeouts.
   */
  freeze(): void;
  /** Forwards again what waited and what follows, and relays the connections opened while frozen. */
  thaw(): void;
  close(): Promise<void>;
}

/** Relays to the host and port of `targetUrl` (a postgres:// URL; port 5432 when it names none). */
export async function startTcpRelay(targetUrl: string): Promise<TcpRelay> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 5432);
  const relayed = new Set<Socket>();
  /** Accepted while frozen: relayed (upstream opened) on thaw. */
  const waiting = new Set<Socket>();
  let frozen = false;

  const track = (socket: Socket) => {
    relayed.add(socket);
    socket.on('close', () => relayed.delete(socket));
    // A cut connection errors on one side or the other; that is the point, not a failure.
    socket.on('error', () => undefined);
  };
  /**
   * Bytes `from` → `to`, with backpressure (a socket paused by a freeze resumes only on thaw). An
   * end is passed on in order; a side destroyed without one (a client giving up on a connection,
   * frozen or not) takes the other side with it at once, where a real server would notice only
   * through its own keepalive.
   */
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!frozen) from.resume();
    });
    from.on('end', () => to.end());
    from.on('close', () => {
      if (!from.readableEnded) to.destroy();
    });
  };
  const relay = (downstream: Socket) => {
    const upstream = connect(targetPort, target.hostname);
    track(upstream);
    forward(downstream, upstream);
    forward(upstream, downstream);
  };

  const server: Server = createServer((downstream) => {
    track(downstream);
    if (!frozen) return relay(downstream);
    // Not read while frozen: what the client sends waits in the socket's buffers.
    downstream.pause();
    waiting.add(downstream);
    downstream.on('close', () => waiting.delete(downstream));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const cut = () => {
    for (const socket of relayed) socket.destroy();
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      cut();
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  return {
    port,
    cut,
    pause: stop,
    resume: () => listen(port),
    freeze() {
      frozen = true;
      for (const socket of relayed) socket.pause();
    },
    thaw() {
      frozen = false;
      for (const downstream of waiting) {
        relay(downstream);
        downstream.resume();
      }
      waiting.clear();
      for (const socket of relayed) socket.resume();
    },
    close: stop,
  };
}

/** `url` with its host and port replaced by the relay's (for a postgres:// URL). */
export function viaRelay(url: string, relay: TcpRelay): string {
  const relayed = new URL(url);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(relay.port);
  return relayed.toString();
}
