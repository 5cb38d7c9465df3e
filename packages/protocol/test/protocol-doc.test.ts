/**
 * docs/protocol.md is written by hand; these tests keep it from drifting away from the code:
 * every error code and close code is in its table with the right numbers, every action has a
 * section, and every JSON example frame decodes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ClientAction,
  CloseCode,
  decodeClientFrame,
  decodeServerFrame,
  ErrorCodes,
  isErrorCode,
  NON_RETRYABLE_CLOSE_CODES,
  ServerAction,
} from '../src/index.ts';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

/** The text of the `## <title>` section, up to the next `## ` heading. */
function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/protocol.md has no "## ${title}" section`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

function tableRows(text: string, pattern: RegExp): RegExpMatchArray[] {
  return text
    .split('\n')
    .map((line) => line.match(pattern))
    .filter((m): m is RegExpMatchArray => m !== null);
}

describe('docs/protocol.md', () => {
  it('lists every error code exactly once, with its HTTP status and close code', () => {
    const rows = tableRows(section('Error codes'), /^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|\s*(\d{4}|—)\s*\|\s*\S/);
    const documented = rows.map(([, code, status, close]) => ({ code, status: Number(status), close }));
    const expected = Object.entries(ErrorCodes).map(([code, def]) => ({
      code,
      status: def.status,
      close: def.closeCode === null ? '—' : String(def.closeCode),
    }));
    expect(documented.map((row) => row.code).sort()).toEqual(Object.keys(ErrorCodes).sort());
    expect(documented).toEqual(expect.arrayContaining(expected));
  });

  it('lists every close code exactly once, with its name and whether a client should retry', () => {
    const rows = tableRows(section('Close codes'), /^\|\s*(\d{4})\s*\|\s*`(\w+)`\s*\|\s*(Yes|No)\b/);
    const documented = rows.map(([, value, name, retry]) => `${value} ${name} ${retry}`).sort();
    const expected = Object.entries(CloseCode)
      .map(([name, value]) => `${value} ${name} ${NON_RETRYABLE_CLOSE_CODES.has(value) ? 'No' : 'Yes'}`)
      .sort();
    expect(documented).toEqual(expected);
  });

  it('has a section for every client and server action', () => {
    for (const action of [...Object.values(ClientAction), ...Object.values(ServerAction)]) {
      expect(doc, `section for ${action}`).toContain(`\n### \`${action}\``);
    }
  });

  it('has example frames that decode, and an example of every action', () => {
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? '') as unknown);
    const exampled = new Set<string>();
    for (const block of blocks) {
      if (typeof block !== 'object' || block === null || !('action' in block)) continue;
      const action = String(block.action);
      const text = JSON.stringify(block);
      const client = (Object.values(ClientAction) as string[]).includes(action);
      const result = client ? decodeClientFrame(text) : decodeServerFrame(text);
      expect(result.ok ? 'ok' : `${result.code}: ${result.message}`, `example ${text}`).toBe('ok');
      exampled.add(action);
    }
    expect([...exampled].sort()).toEqual([...Object.values(ClientAction), ...Object.values(ServerAction)].sort());
  });

  it('has problem+json examples whose code and status match the catalogue', () => {
    const problems = [...doc.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((m) => JSON.parse(m[1] ?? '') as Record<string, unknown>)
      .filter((block) => 'status' in block && 'code' in block);
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) {
      expect(Object.keys(problem)).toEqual(expect.arrayContaining(['type', 'title', 'status', 'code', 'detail']));
      expect(isErrorCode(problem.code)).toBe(true);
      if (!isErrorCode(problem.code)) continue;
      expect(problem.status).toBe(ErrorCodes[problem.code].status);
      expect(problem.title).toBe(ErrorCodes[problem.code].message);
    }
  });
});
