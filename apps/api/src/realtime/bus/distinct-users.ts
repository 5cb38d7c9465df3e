/** A publish's recipients without repeats (RedisBus.publishToUsers). */

/** Lists up to this long are checked for repeats pair by pair (a room: ≤ 45 comparisons, no Set). */
const PAIRWISE_DISTINCT_MAX = 16;

/**
 * A copy of `userIds` without repeats. A copy even when it has none: a batch keeps the list until
 * it is sent, and the caller's array may change after the call (the contract's snapshot).
 */
export function distinctUsers(userIds: readonly string[]): readonly string[] {
  const count = userIds.length;
  if (count > PAIRWISE_DISTINCT_MAX) return [...new Set(userIds)];
  for (let k = 1; k < count; k++) {
    const id = userIds[k];
    for (let j = 0; j < k; j++) if (userIds[j] === id) return [...new Set(userIds)];
  }
  return userIds.slice();
}
