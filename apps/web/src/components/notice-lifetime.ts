/**
 * How long a toast stays, in ms: 6 s for a notice, 10 s for an error (it says what to do, which
 * takes longer to read). The × closes it sooner; a system notice also stays in its thread.
 * (A module of its own so tests can read it without React.)
 */
export const NOTICE_LIFETIME_MS: Record<'info' | 'error', number> = { info: 6_000, error: 10_000 };
