/**
 * One e2e file's stack: started before its tests, the API's last log lines printed when a test
 * fails (its log is otherwise never shown), the pages it opened and the stack closed after.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { UserPage } from './pages.ts';
import { type Stack, startStack } from './stack.ts';

export interface FileStack {
  /** The running stack (throws before beforeAll ran). */
  readonly stack: Stack;
  /** Pages to close after the file's tests: push every page a test opens. */
  readonly open: UserPage[];
}

/** `apiEnv`: extra environment of the file's API (see startStack). */
export function useStack(apiEnv: Record<string, string> = {}): FileStack {
  let stack: Stack | undefined;
  const open: UserPage[] = [];
  beforeAll(async () => {
    stack = await startStack(apiEnv);
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.error(`API log (last lines):\n${stack?.api.logTail()}`));
  });
  afterAll(async () => {
    await Promise.all(open.map((p) => p.close().catch(() => undefined)));
    await stack?.stop();
  });
  return {
    get stack() {
      if (!stack) throw new Error('the e2e stack is not started yet (use it inside a test or a hook)');
      return stack;
    },
    open,
  };
}
