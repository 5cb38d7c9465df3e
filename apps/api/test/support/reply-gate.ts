/**
 * A TCP proxy in front of a Redis that can hold Redis's replies (never the client's commands):
 * a test can let Redis run a command and keep its answer from the client for a while.
 */
import net from 'node:net';

export interface ReplyGate {
  /** redis:// URL of the proxy. */
  url: string;
  /** From now on, replies wait until `release`. */
  hold(): void;
  /** Resolves once a reply arrived while holding (Redis has run a command); fails after `timeoutMs`. */
  untilReplied(timeoutMs?: number): Promise<void>;
  /** Passes the held replies on, in order, and stops holding. */
  release(): void;
  close(): Promise<void>;
}

export async function startReplyGate(redisPort: number): Promise<ReplyGate> {
  let holding = false;
  /** Per client connection: where its replies go and those held back. */
  const links: { client: net.Socket; held: Buffer[] }[] = [];
  const sockets = new Set<net.Socket>();
  const arrived = new Set<() => void>();
  const server = net.createServer((client) => {
    const redis = net.connect(redisPort, '127.0.0.1');
    const link = { client, held: [] as Buffer[] };
    links.push(link);
    sockets.add(client).add(redis);
    client.on('data', (chunk) => redis.write(chunk));
    redis.on('data', (chunk) => {
      if (!holding) {
        client.write(chunk);
        return;
      }
      link.held.push(chunk);
      for (const wake of arrived) wake();
    });
    const end = () => {
      client.destroy();
      redis.destroy();
    };
    client.on('error', end).on('close', end);
    redis.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    hold() {
      holding = true;
    },
    untilReplied(timeoutMs = 5_000) {
      if (links.some((link) => link.held.length > 0)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const wake = () => {
          clearTimeout(timer);
          arrived.delete(wake);
          resolve();
        };
        const timer = setTimeout(() => {
          arrived.delete(wake);
          reject(new Error(`reply gate: no reply from Redis within ${timeoutMs} ms`));
        }, timeoutMs);
        arrived.add(wake);
      });
    },
    release() {
      holding = false;
      for (const link of links) for (const chunk of link.held.splice(0)) link.client.write(chunk);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
