/**
 * Which files may be uploaded, as which message type. The declared Content-Type must be in
 * the allowlist, and images must also start with their format's magic bytes (so an HTML page
 * cannot be served back as "image/png").
 */
import { ATTACHMENT_MIME_TYPES, type MessageType } from '@anmei/protocol';

const IMAGE_TYPES = ATTACHMENT_MIME_TYPES.image;
const VOICE_TYPES: readonly string[] = ATTACHMENT_MIME_TYPES.voice;
const FILE_TYPES: readonly string[] = ATTACHMENT_MIME_TYPES.file;

export const ALLOWED_MIME_TYPES: readonly string[] = [...IMAGE_TYPES, ...VOICE_TYPES, ...FILE_TYPES];

/** `audio/webm;codecs=opus` → `audio/webm` (MediaRecorder adds codec parameters). */
export function baseMimeType(mime: string): string {
  return (mime.split(';')[0] ?? '').trim().toLowerCase();
}

export function messageTypeFor(mime: string): Extract<MessageType, 'image' | 'voice' | 'file'> | null {
  const base = baseMimeType(mime);
  if ((IMAGE_TYPES as readonly string[]).includes(base)) return 'image';
  if (VOICE_TYPES.includes(base)) return 'voice';
  if (FILE_TYPES.includes(base)) return 'file';
  return null;
}

const MAGIC: Record<(typeof IMAGE_TYPES)[number], (b: Buffer) => boolean> = {
  'image/png': (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  'image/jpeg': (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  'image/gif': (b) => b.subarray(0, 4).toString('latin1') === 'GIF8',
  'image/webp': (b) =>
    b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
};

/** true unless `mime` is an image type and `head` (the first bytes) does not look like it. */
export function contentMatchesType(mime: string, head: Buffer): boolean {
  const check = MAGIC[baseMimeType(mime) as keyof typeof MAGIC];
  return check ? check(head) : true;
}

/** A file name safe to echo in Content-Disposition and the UI: no path, no control characters, ≤ 200 chars. */
export function cleanFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const cleaned = base.replace(/[\u0000-\u001f\u007f"]/g, '').trim();
  return truncateText(cleaned || 'file', 200);
}

/**
 * `text` cut to at most `maxChars` UTF-16 code units without splitting a surrogate pair: half a
 * pair is not valid Unicode, and the database refuses it in `jsonb` (issue #15).
 */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}
