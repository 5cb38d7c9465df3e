/**
 * ClientAddress: which address a request comes from behind TRUST_PROXY's ranges. The requests are
 * plain objects with the two fields it reads (the TCP peer and X-Forwarded-For); the upgrade and
 * HTTP paths that use it are covered end to end by the rate-limit tests.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ClientAddress } from '../src/http/client-address.ts';

function request(peer: string, forwardedFor?: string): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('ClientAddress', () => {
  it('walks X-Forwarded-For from the right past trusted proxies to the first untrusted address', () => {
    const addresses = new ClientAddress(['10.0.0.0/8', '::1/128']);
    expect(addresses.of(request('10.0.0.5', '203.0.113.9, 10.0.0.7'))).toBe('203.0.113.9');
    expect(addresses.of(request('::1', '198.51.100.4'))).toBe('198.51.100.4');
    // What a client wrote itself lies left of an untrusted hop and is never reached.
    expect(addresses.of(request('10.0.0.5', '1.1.1.1, 203.0.113.9'))).toBe('203.0.113.9');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy, and trusts nobody with no ranges', () => {
    expect(new ClientAddress(['10.0.0.0/8']).of(request('203.0.113.9', '1.1.1.1'))).toBe('203.0.113.9');
    expect(new ClientAddress([]).of(request('10.0.0.5', '1.1.1.1'))).toBe('10.0.0.5');
    expect(new ClientAddress([]).isTrusted('10.0.0.5')).toBe(false);
  });

  it('answers the same for every address asked again, also after more addresses than it remembers', () => {
    const addresses = new ClientAddress(['10.0.0.0/8']);
    expect(addresses.isTrusted('10.1.2.3')).toBe(true);
    expect(addresses.isTrusted('203.0.113.9')).toBe(false);
    // 3,000 distinct addresses: more than the remembered answers (1,024), so the memory starts over.
    for (let i = 0; i < 3_000; i++) {
      const trusted = i % 2 === 0;
      const address = trusted ? `10.${(i >> 8) & 255}.${i & 255}.1` : `198.${(i >> 8) & 255}.${i & 255}.1`;
      expect(addresses.isTrusted(address)).toBe(trusted);
      expect(addresses.isTrusted(address)).toBe(trusted);
    }
    expect(addresses.isTrusted('10.1.2.3')).toBe(true);
    expect(addresses.isTrusted('203.0.113.9')).toBe(false);
    expect(addresses.isTrusted('not an address')).toBe(false);
  });
});
