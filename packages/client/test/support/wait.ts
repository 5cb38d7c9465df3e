/**
 * Waiting for what proves a state, with a deadline that fails loudly and names what was
 * awaited (TESTING.md: wait, never sleep).
 */
import type { ClientEventMap, ConnectionStatus, StateOf, WebSocketClient } from '../../src/index.ts';

/** Resolves when `check()` is true, checked every 20 ms (for state outside the client, e.g. the server's store). */
export function until(check: () => boolean, what: string, timeoutMs = 5_000, describe?: () => string): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (!check()) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    }, 20);
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `; ${describe()}` : ''}`));
    }, timeoutMs);
  });
}

/** Records every status a client goes through, for assertions and failure messages. */
export function recordStatuses(client: WebSocketClient): ConnectionStatus[] {
  const seen: ConnectionStatus[] = [client.state.status];
  client.onEvent('state', ({ state }) => {
    seen.push(state.status);
  });
  return seen;
}

/** Resolves with the client's state once it has `status` (now or later) and matches `where`. */
export function waitForState<S extends ConnectionStatus>(
  client: WebSocketClient,
  status: S,
  options: { timeoutMs?: number; where?: (state: StateOf<S>) => boolean } = {},
): Promise<StateOf<S>> {
  const { timeoutMs = 5_000, where = () => true } = options;
  const matches = (state: ClientEventMap['state']['state']): state is StateOf<S> =>
    state.status === status && where(state as StateOf<S>);
  if (matches(client.state)) return Promise.resolve(client.state);
  const history: string[] = [client.state.status];
  return new Promise((resolve, reject) => {
    const off = client.onEvent('state', ({ state }) => {
      history.push(state.status);
      if (!matches(state)) return;
      off();
      clearTimeout(timer);
      resolve(state);
    });
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(
          `timed out after ${timeoutMs} ms waiting for state "${status}"; went through: ${history.join(' -> ')}`,
        ),
      );
    }, timeoutMs);
  });
}

/** Resolves with the next payload of `event` that matches `where`. */
export function nextEvent<E extends keyof ClientEventMap>(
  client: WebSocketClient,
  event: E,
  where: (payload: ClientEventMap[E]) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<ClientEventMap[E]> {
  return new Promise((resolve, reject) => {
    const off = client.onEvent(event, (payload) => {
      if (!where(payload)) return;
      off();
      clearTimeout(timer);
      resolve(payload);
    });
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a "${String(event)}" event`));
    }, timeoutMs);
  });
}
