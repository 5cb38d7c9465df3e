/**
 * `Range: bytes=…` on downloads (RFC 9110 §14), so a media player (Safari's <audio> for voice
 * notes) can seek without fetching the file whole. Only a single range is served; anything else
 * is answered with the whole file, which RFC 9110 allows a server to do for any Range.
 */
import type { ByteRange } from '../attachments/storage.ts';

// Anchored, with bounded digit runs: no backtracking on a hostile header.
const SINGLE = /^bytes=(\d{0,15})-(\d{0,15})$/;

/**
 * The range to serve of a `size`-byte file, or undefined to serve it whole: no Range, several
 * ranges, a malformed or unsatisfiable one, or any If-Range (we send no ETag or Last-Modified,
 * so no If-Range validator can match, and then the Range must be ignored).
 */
export function requestedRange(
  range: string | undefined,
  ifRange: string | undefined,
  size: number,
): ByteRange | undefined {
  if (range === undefined || ifRange !== undefined || size === 0) return undefined;
  const match = SINGLE.exec(range.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '') {
    // `bytes=-N`: the last N bytes.
    const suffix = Number(last);
    if (last === '' || suffix === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || start > end) return undefined;
  return { start, end };
}
