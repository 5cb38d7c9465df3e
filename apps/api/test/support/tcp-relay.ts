/**
 * A TCP relay owned by a test, between the code under test and a real server (Postgres):
 * the test can cut every connection, or take the relay down and bring it back on the same
 * port, at the moment it chooses, as a network failure or a database outage would.
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
  close(): Promise<void>;
}

/** Relays to the host and port of `targetUrl` (a postgres:// URL; port 5432 when it names none). */
export async function startTcpRelay(targetUrl: string): Promise<TcpRelay> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 5432);
  const relayed = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = connect(targetPort, target.hostname);
    for (const socket of [downstream, upstream]) {
      relayed.add(socket);
      socket.on('close', () => relayed.delete(socket));
      // A cut connection errors on one side or the other; that is the point, not a failure.
      socket.on('error', () => undefined);
    }
    downstream.pipe(upstream).pipe(downstream);
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
