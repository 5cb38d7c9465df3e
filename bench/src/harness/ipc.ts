/** Request/answer over a child's IPC channel, one outstanding request at a time per child. */
import type { ChildProcess } from 'node:child_process';

export function waitForMessage<T extends { type: string }>(
  child: ChildProcess,
  accept: (m: T) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const stderr: string[] = [];
    const onErr = (chunk: Buffer) => {
      stderr.push(chunk.toString());
      if (stderr.length > 50) stderr.shift();
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.stderr?.off('data', onErr);
    };
    const onMessage = (m: T) => {
      if (m.type === 'error') {
        cleanup();
        reject(new Error(`${what}: ${(m as unknown as { message: string }).message}`));
      } else if (accept(m)) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${what}: process exited (${code}) ${stderr.join('').slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.stderr?.on('data', onErr);
  });
}

export function request<T extends { type: string }>(
  child: ChildProcess,
  message: unknown,
  accept: (m: T) => boolean,
  what: string,
  timeoutMs?: number,
): Promise<T> {
  const answer = waitForMessage(child, accept, what, timeoutMs);
  child.send(message as object);
  return answer;
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(force);
}
