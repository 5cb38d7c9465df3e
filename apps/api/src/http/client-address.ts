/**
 * Which address a request comes from, behind the proxies TRUST_PROXY names: one rule for HTTP
 * (Fastify's `trustProxy`, hence `request.ip`) and for WebSocket upgrades, which never reach
 * Fastify. As proxy-addr does it: start at the TCP peer and walk X-Forwarded-For from right to
 * left while the address seen is a trusted proxy; the first untrusted one is the client. nginx
 * appends the address it saw (`$proxy_add_x_forwarded_for`), so what a client writes into the
 * header itself lies to the left of that and is never reached unless its own address is trusted.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv6 } from 'node:net';
import { normalizeIP } from '@fastify/rate-limit';

/** Hops followed at most; a longer chain stops at the last one (a client cannot make us walk 16 KiB of header). */
const MAX_HOPS = 32;
/**
 * Addresses whose trust answer is remembered. Past this many the memory is emptied and starts
 * again, so many distinct clients cost a re-check each, never unbounded memory.
 */
const TRUST_CACHE_ENTRIES = 1024;

export class ClientAddress {
  readonly #trusted = new BlockList();
  readonly #trustsAny: boolean;
  /**
   * The answers given so far, by address. `BlockList.check` builds a `SocketAddress` (a
   * transferable native object) on every call: ~14 µs of a connection's ~570 µs in scenario 8's
   * profile, for the same few addresses (the proxies, the clients of the moment) again and again.
   */
  readonly #answers = new Map<string, boolean>();

  /** `ranges`: CIDR ranges (config.trustProxy); empty = X-Forwarded-For is never believed. */
  constructor(ranges: readonly string[]) {
    for (const range of ranges) {
      const [address = '', bits = ''] = range.split('/');
      this.#trusted.addSubnet(address, Number(bits), isIPv6(address) ? 'ipv6' : 'ipv4');
    }
    this.#trustsAny = ranges.length > 0;
  }

  /** Fastify's `trustProxy` function. IPv4-mapped IPv6 peers (`::ffff:10.0.0.5`) match IPv4 ranges. */
  readonly isTrusted = (address: string): boolean => {
    if (!this.#trustsAny) return false;
    let trusted = this.#answers.get(address);
    if (trusted === undefined) {
      trusted = this.#trusted.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
      if (this.#answers.size >= TRUST_CACHE_ENTRIES) this.#answers.clear();
      this.#answers.set(address, trusted);
    }
    return trusted;
  };

  /** The client's address for `req` (what Fastify reports as `request.ip` for the same request). */
  of(req: IncomingMessage): string {
    let address = req.socket.remoteAddress ?? '';
    if (!this.isTrusted(address)) return address;
    const header = req.headers['x-forwarded-for'];
    if (typeof header !== 'string') return address;
    const hops = header.split(',');
    for (let i = hops.length - 1, walked = 0; i >= 0 && walked < MAX_HOPS; i--, walked++) {
      address = (hops[i] ?? '').trim();
      if (!this.isTrusted(address)) return address;
    }
    return address;
  }
}

/**
 * What per-address limits count: an IPv6 address by its /64 (one subscriber's whole prefix, which
 * they can rotate through freely), an IPv4-mapped one as IPv4, the rest as is, lower-cased.
 */
export function addressKey(address: string): string {
  return normalizeIP(address);
}
