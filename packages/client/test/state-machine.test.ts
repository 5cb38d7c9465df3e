/** The explicit connection state machine and the close-code policy. */
import { CloseCode, NON_RETRYABLE_CLOSE_CODES } from '@anmei/protocol';
import { describe, expect, it } from 'vitest';
import {
  ConnectionStateMachine,
  type ConnectionStatus,
  closeCodeName,
  decideAfterClose,
  InvalidTransitionError,
  type StateChange,
  TRANSITIONS,
} from '../src/index.ts';

describe('ConnectionStateMachine', () => {
  it('starts idle and reports each change with the previous state', () => {
    const changes: StateChange[] = [];
    const machine = new ConnectionStateMachine((c) => changes.push(c));
    machine.transition({ status: 'connecting', attempt: 0 });
    machine.transition({ status: 'closed', code: 1000, reason: 'client disconnect' });
    expect(changes.map((c) => [c.previous.status, c.state.status])).toEqual([
      ['idle', 'connecting'],
      ['connecting', 'closed'],
    ]);
    expect(Object.isFrozen(machine.state)).toBe(true);
  });

  it('throws on a transition the table does not allow, naming what is allowed', () => {
    const machine = new ConnectionStateMachine(() => undefined);
    expect(() => machine.transition({ status: 'failed', code: 1006, reason: '', attempts: 15 })).toThrow(
      new InvalidTransitionError('idle', 'failed'),
    );
    expect(() => machine.transition({ status: 'failed', code: 1006, reason: '', attempts: 15 })).toThrow(
      'Invalid connection state transition idle -> failed; allowed from idle: connecting, offline, closed.',
    );
  });

  it('leaves every resting state (closed, unauthorized, failed) only through a new attempt or a close', () => {
    for (const status of ['closed', 'unauthorized', 'failed'] satisfies ConnectionStatus[]) {
      expect([...TRANSITIONS[status]].sort()).toEqual(['closed', 'connecting', 'offline']);
    }
    expect(TRANSITIONS.open).not.toContain('unauthorized');
  });
});

describe('close policy', () => {
  it('does not retry the protocol’s non-retryable codes', () => {
    for (const code of NON_RETRYABLE_CLOSE_CODES) expect(decideAfterClose(code)).toBe('stop');
  });

  it('refreshes credentials after 4001 and retries everything else', () => {
    expect(decideAfterClose(CloseCode.unauthorized)).toBe('refresh-auth');
    for (const code of [1000, 1001, 1006, 1008, 1009, 1011, 4000, 4009, 4999])
      expect(decideAfterClose(code)).toBe('retry');
  });

  it('names codes for display', () => {
    expect(closeCodeName(1001)).toBe('goingAway');
    expect(closeCodeName(1006)).toBe('abnormalClosure');
    expect(closeCodeName(4321)).toBe('unknown');
  });
});
