/**
 * The one catalogue of user-facing error texts (issue #17, item 5): every protocol error code and
 * close code has plain Chinese; real failures (a problem answer from a real HTTP server, a refused
 * connection, the client's ticket failure) come out in Chinese with the raw English on the console
 * only; and no source file of apps/web renders an error's own text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode, ErrorCodes } from '@anmei/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError, api } from '../src/lib/api.ts';
import {
  CLIENT_ERROR_TEXTS,
  CLOSE_TEXTS,
  closeText,
  connectionErrorText,
  ERROR_TEXTS,
  SEND_FAILURE_TEXTS,
  userMessage,
  WEB_ERROR_TEXTS,
  WEB_PUSH_TEXTS,
} from '../src/lib/user-messages.ts';
import { WebPushError } from '../src/lib/web-push.ts';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
/** At least one CJK character, and no English word of three letters or more besides config keys and values, URLs and product names. */
function isPlainChinese(text: string): boolean {
  const withoutKeys = text.replace(
    /\b[A-Z][A-Z0-9_]+\b|https?:\/\/\S*|\b(?:Chrome|Edge|Firefox|Safari|iPhone|HTTPS|localhost|Service Worker|Push API|PNG|JPEG|GIF|WebP|PDF|TXT|Word|Excel|ZIP|webpush)\b/g,
    '',
  );
  return /\p{Script=Han}/u.test(text) && !/[A-Za-z]{3,}/.test(withoutKeys);
}

let warn: ReturnType<typeof vi.spyOn>;
beforeAll(() => {
  // Raw texts belong on the console: captured here so the test can say they went there.
  warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
});
afterEach(() => warn.mockClear());
afterAll(() => warn.mockRestore());

describe('the catalogue', () => {
  it('has plain Chinese for every protocol error code', () => {
    for (const code of Object.keys(ErrorCodes)) {
      const text = (ERROR_TEXTS as Record<string, string>)[code];
      expect([code, typeof text === 'string' && isPlainChinese(text)]).toEqual([code, true]);
    }
  });

  it('has plain Chinese for every close code, and a generic text for any other', () => {
    for (const code of Object.values(CloseCode)) {
      expect([code, isPlainChinese(CLOSE_TEXTS[code]), closeText(code)]).toEqual([code, true, CLOSE_TEXTS[code]]);
    }
    expect(isPlainChinese(closeText(4999))).toBe(true);
  });

  it("has plain Chinese for the client's, the sends', web push's and this app's own codes", () => {
    for (const table of [CLIENT_ERROR_TEXTS, SEND_FAILURE_TEXTS, WEB_PUSH_TEXTS, WEB_ERROR_TEXTS]) {
      for (const [code, text] of Object.entries(table)) expect([code, isPlainChinese(text)]).toEqual([code, true]);
    }
  });
});

describe('real failures in Chinese, raw texts on the console', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    // What the web app's proxy answers when the API is down, and an API refusal, from a real server.
    server = createServer((request, response) => {
      const problem =
        request.url === '/down'
          ? { status: 502, code: 'UPSTREAM_UNAVAILABLE', detail: 'The API at http://localhost:8000 is not reachable.' }
          : request.url === '/limited'
            ? { status: 429, code: 'RATE_LIMITED', detail: 'Too many login attempts from this address' }
            : { status: 502, code: undefined, detail: undefined };
      response.writeHead(problem.status, { 'content-type': 'application/problem+json' });
      response.end(problem.code ? JSON.stringify({ code: problem.code, detail: problem.detail }) : 'Bad Gateway');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function failure(path: string): Promise<unknown> {
    return api(`${base}${path}`, { auth: false }).then(
      () => expect.fail(`${path} should have failed`),
      (e: unknown) => e,
    );
  }

  it('a 502 from the proxy ("The API at … is not reachable")', async () => {
    const error = await failure('/down');
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe(WEB_ERROR_TEXTS.UPSTREAM_UNAVAILABLE);
    expect((error as ApiError).detail).toBe('The API at http://localhost:8000 is not reachable.');
    expect(userMessage(error, '兜底')).toBe('服务器暂时无法连接，请稍后再试');
    expect(warn).toHaveBeenCalledWith('兜底', error);
  });

  it('a catalogued API refusal, and an answer without a code', async () => {
    expect(userMessage(await failure('/limited'), '兜底')).toBe(ERROR_TEXTS.RATE_LIMITED);
    const bare = await failure('/bare');
    expect((bare as ApiError).message).toBe(WEB_ERROR_TEXTS.HTTP_ERROR);
    expect(userMessage(bare, '兜底')).toBe(WEB_ERROR_TEXTS.HTTP_ERROR);
  });

  it('a refused connection ("fetch failed" / "Failed to fetch")', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await api(`http://127.0.0.1:${port}/x`, { auth: false }).catch((e: unknown) => e);
    expect((error as ApiError).code).toBe('NETWORK');
    expect(userMessage(error, '兜底')).toBe(WEB_ERROR_TEXTS.NETWORK);
    expect((error as ApiError).detail).toMatch(/fetch failed/);
  });

  it('anything else gets the fallback, never its own text', () => {
    expect(userMessage(new TypeError('Failed to fetch'), '无法加载会话列表')).toBe('无法加载会话列表');
    expect(userMessage('ticket request failed: HTTP 502', '兜底')).toBe('兜底');
    expect(userMessage(new WebPushError('DENIED', 'ignored'), '兜底')).toBe(WEB_PUSH_TEXTS.DENIED);
    expect(warn).toHaveBeenCalledTimes(3);
  });

  it("the client's connection errors, by the server's code, the close code or the client's own", () => {
    const at = Date.now();
    expect(connectionErrorText({ code: 'TICKET_FAILED', reason: 'ticket request failed: HTTP 502', at } as never)).toBe(
      CLIENT_ERROR_TEXTS.TICKET_FAILED,
    );
    expect(connectionErrorText({ code: 'SERVER_ERROR', serverCode: 'RATE_LIMITED' })).toBe(ERROR_TEXTS.RATE_LIMITED);
    expect(connectionErrorText({ code: 'CLOSED_BY_SERVER', closeCode: CloseCode.forbidden })).toBe(
      CLOSE_TEXTS[CloseCode.forbidden],
    );
  });
});

/** Every .ts/.tsx file under apps/web/src. */
function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

describe('no raw error text reaches the screen (static check of apps/web/src)', () => {
  /**
   * An error's own text used anywhere but a console call: `e.message`, `error.reason`,
   * `String(e)`, `e instanceof Error ? …`. (Other `.message` fields, e.g. a notice's or a
   * frame's message, are not errors and are not named e/err/error.)
   */
  const RAW = /\b(?:e|err|error|lastError|cause)\.(?:message|reason)\b|String\((?:e|err|error)\)|instanceof Error \?/;
  /** An error state set from a string literal instead of the catalogue. */
  const LITERAL = /set[A-Za-z]*Error\(\s*['"`]|setResult\(\{\s*ok: false, text: ['"`]/;

  it('finds the files (the scan is not vacuous)', () => {
    const files = sources().map((f) => relative(SRC, f));
    expect(files).toEqual(expect.arrayContaining(['app/login/page.tsx', 'components/composer.tsx', 'lib/api.ts']));
  });

  it('renders no error .message / .reason / String(e), and sets no error from a literal', () => {
    const offences: string[] = [];
    for (const file of sources()) {
      if (file.endsWith('lib/user-messages.ts')) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.includes('console.')) return;
          // api.ts keeps the raw text on the error's `detail`, for the console.
          if (file.endsWith('lib/api.ts') && /new ApiError\(.*String\(error\)\)/.test(line)) return;
          if (RAW.test(line) || LITERAL.test(line)) offences.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offences).toEqual([]);
  });

  it('catches what it is meant to catch', () => {
    for (const bad of [
      '<p>{error.message}</p>',
      'setError(e instanceof Error ? e.message : String(e));',
      '{lastError.code}: {lastError.reason}',
      "setError('网络错误');",
    ]) {
      expect([bad, RAW.test(bad) || LITERAL.test(bad)]).toEqual([bad, true]);
    }
  });
});
