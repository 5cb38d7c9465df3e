/**
 * When an upgrade's checks start (UpgradeAdmission): the checks of upgrade-auth.ts (address
 * limits, ticket, spend) of the upgrades that arrive while one batch of them runs start together
 * once it is done, and no sooner than `spacingMs` after that batch started. A lone upgrade on a
 * quiet server starts at once, after one `setImmediate` (BatchGate, db/batch-gate.ts, with one
 * batch in flight and a spacing).
 *
 * Why: libuv (1.45 and later; Node 20 has 1.46) accepts ONE connection per event-loop iteration
 * (libuv pull request 3696). When every iteration also carries some upgrade's checks and their
 * Redis answers, a reconnect storm's backlog is accepted one connection per busy iteration, each
 * upgrade's Redis calls go nearly alone, and such a storm cost the server up to 1.75 ms of CPU per
 * reconnect against 0.74 without (docs/benchmarks.md, round 6, eighth pass). Waiting only for the
 * running batch is not enough: its Redis answer comes back within an iteration or two, so batches
 * stayed at about four upgrades. With batches at most every `spacingMs`, the iterations between them only
 * accept and parse connections, and the next batch carries all of those.
 */
import { BatchGate, type PendingRequest } from '../db/batch-gate.ts';

/** Most upgrades whose checks start together (one Redis pipeline carries them). */
const MAX_BATCH = 1_000;

export interface UpgradeAdmissionOptions {
  /** ms between the starts of two batches while upgrades keep coming. Default 10; 0 = only wait for the running batch. */
  spacingMs?: number;
}

export class UpgradeAdmission<Upgrade, Identity> {
  readonly #gate: BatchGate<Upgrade, Identity>;

  /** `check` resolves an upgrade's identity or rejects with why it is refused. */
  constructor(check: (upgrade: Upgrade) => Promise<Identity>, options: UpgradeAdmissionOptions = {}) {
    this.#gate = new BatchGate((batch) => runChecks(batch, check), {
      maxBatch: MAX_BATCH,
      maxInFlight: 1,
      spacingMs: options.spacingMs ?? 10,
    });
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
