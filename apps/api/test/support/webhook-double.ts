/**
 * A push gateway double speaking the webhook provider's protocol over real HTTP: it records each
 * POST by its `Idempotency-Key` and the path it came to (one path per API instance tells which
 * instance sent it), and can hold a request unanswered to stand for a provider that blocks.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Changes } from './changes.ts';

export interface WebhookRequest {
  key: string;
  path: string;
  body: Record<string, unknown>;
  /** 'held' until answered; 'delivered' once answered 200; 'cut' if the sender went away first. */
  state: 'held' | 'delivered' | 'cut';
}

export class WebhookDouble {
  readonly requests: WebhookRequest[] = [];
  /** Return true to leave a request unanswered (its sender sees no answer). */
  hold: (request: WebhookRequest, earlier: WebhookRequest[]) => boolean = () => false;
  readonly #server: Server;
  readonly #changes = new Changes();
  readonly #held = new Set<ServerResponse>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookDouble> {
    const server = createServer();
    const double = new WebhookDouble(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const request: WebhookRequest = {
          key: String(req.headers['idempotency-key'] ?? ''),
          path: req.url ?? '',
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          state: 'held',
        };
        const earlier = double.requests.filter((r) => r.key === request.key);
        double.requests.push(request);
        if (double.hold(request, earlier)) {
          double.#held.add(res);
          res.on('close', () => {
            if (request.state === 'held') request.state = 'cut';
            double.#held.delete(res);
            double.#changes.changed();
          });
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
          request.state = 'delivered';
        }
        double.#changes.changed();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return double;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Resolves with the requests once `test` holds for them; rejects after `timeoutMs` saying what. */
  async until(
    test: (requests: WebhookRequest[]) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<WebhookRequest[]> {
    await this.#changes.until(
      () => test(this.requests),
      what,
      timeoutMs,
      () => `got ${JSON.stringify(this.summary())}`,
    );
    return this.requests;
  }

  /** Per idempotency key: how many requests came, how many were answered as delivered. */
  summary(): Record<string, { requests: number; delivered: number; paths: string[] }> {
    const out: Record<string, { requests: number; delivered: number; paths: string[] }> = {};
    for (const r of this.requests) {
      const entry = out[r.key] ?? { requests: 0, delivered: 0, paths: [] };
      out[r.key] = entry;
      entry.requests++;
      if (r.state === 'delivered') entry.delivered++;
      entry.paths.push(`${r.path}:${r.state}`);
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const res of this.#held) res.destroy();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
