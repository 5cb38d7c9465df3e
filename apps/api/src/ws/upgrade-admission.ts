/**
 * When an upgrade's checks start (UpgradeAdmission): the checks of upgrade-auth.ts (address
 * limits, ticket, spend) of the upgrades that arrive while one batch of them runs start together
 * once it is done. A lone upgrade on a quiet server starts at once, after one `setImmediate`
 * (the group commit's policy, db/batch-gate.ts, with one batch running at a time).
 *
 * Why: libuv (1.45 and later; Node 20 has 1.46) accepts ONE connection per event-loop iteration
 * (libuv pull request 3696). When every iteration also carries some upgrade's checks and their
 * Redis answers, a reconnect storm's backlog is accepted one connection per busy iteration, each
 * upgrade's Redis calls go alone, and the server spends ~2 ms per reconnect where batches cost it
 * ~0.7 (docs/benchmarks.md, round 6, eighth pass). Started in batches, the checks and what follows
 * them (registration, heads) run in a few heavy iterations, and the light ones between them
 * accept and parse the next connections.
 */
import { BatchGate, type PendingRequest } from '../db/batch-gate.ts';

/** Most upgrades whose checks start together (one Redis pipeline carries them all). */
const MAX_BATCH = 1_000;

export class UpgradeAdmission<Upgrade, Identity> {
  readonly #gate: BatchGate<Upgrade, Identity>;

  /** `check` resolves an upgrade's identity or rejects with why it is refused. */
  constructor(check: (upgrade: Upgrade) => Promise<Identity>) {
    this.#gate = new BatchGate((batch) => runChecks(batch, check), { maxBatch: MAX_BATCH, maxInFlight: 1 });
  }

  /** Settles as `check` settles for this upgrade, once its batch's turn comes. */
  admit(upgrade: Upgrade): Promise<Identity> {
    return this.#gate.request(upgrade);
  }
}

/** Runs every check of a batch at once; settles each upgrade with its own outcome. Never rejects. */
async function runChecks<Upgrade, Identity>(
  batch: PendingRequest<Upgrade, Identity>[],
  check: (upgrade: Upgrade) => Promise<Identity>,
): Promise<void> {
  await Promise.all(
    batch.map(async (pending) => {
      try {
        pending.resolve(await check(pending.input));
      } catch (error) {
        pending.reject(error);
      }
    }),
  );
}
