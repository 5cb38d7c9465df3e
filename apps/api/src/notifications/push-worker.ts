/**
 * Runs the durable push queue (docs/architecture.md, "Push queue"): claims due jobs from the
 * database, turns each decision into sends for the users who are offline (push-decider.ts) and
 * makes one provider attempt per claimed send, then records what the retry policy says. Every
 * instance runs one; they share the work through the database's SKIP LOCKED claims, so a job
 * stored by an instance that crashed is run by a restarted one or by any other.
 *
 * It never runs on a sender's path: a stored decision `nudge()`s the worker of the instance
 * that stored it (next turn), and every worker also polls, so a job left by a crash or due for
 * a retry is picked up within `pollIntervalMs` of becoming due.
 */
import type { PushDeviceRow, PushJobResult, PushJobRow, PushSendInput, Store } from '../db/store-types.ts';
import { outsideLogContext } from '../observability/log-context.ts';
import type { Logger } from '../observability/logger.ts';
import type { AppMetrics } from '../observability/metrics.ts';
import type { PushDecider } from './push-rules.ts';
import type { RetryPolicy } from './retry-policy.ts';
import type { NotificationService } from './service.ts';
import type { PushResult, PushTarget } from './types.ts';

export interface PushWorkerOptions {
  /** ms between looks at the queue when nothing nudged this worker (PUSH_POLL_INTERVAL, default 1 000). */
  pollIntervalMs: number;
  /** Jobs this instance runs at once (PUSH_CONCURRENCY, default 16). */
  concurrency: number;
  /**
   * ms a claimed job stays invisible to other claims (PUSH_LEASE, default 60 000). If this
   * instance dies mid-job, the job is run again this long after it was claimed; must exceed the
   * provider timeout so a slow but live attempt is not run twice.
   */
  leaseMs: number;
  /** Finished sends are kept this many ms for the admin figures, then deleted (PUSH_RETENTION, default 7 days). */
  retentionMs: number;
}

export interface PushWorkerDeps {
  store: Store;
  decider: PushDecider;
  notifications: NotificationService;
  policy: RetryPolicy;
  logger: Logger;
  /**
   * Decisions, sends queued, provider attempts by outcome and finished sends by state (the
   * admin figures read them back: observability/instance-figures.ts).
   */
  metrics: AppMetrics;
}

/** How often finished sends older than the retention are deleted (ms). */
const PRUNE_INTERVAL_MS = 10 * 60_000;

export class PushWorker {
  readonly #deps: PushWorkerDeps;
  readonly #options: PushWorkerOptions;
  #inFlight = 0;
  /** A claim is running (one at a time, so two never race for the same free slots). */
  #claiming = false;
  /** Something may be due that the running claim did not see: claim again when it ends. */
  #again = false;
  #scheduled = false;
  #closed = false;
  #poll: NodeJS.Timeout | undefined;
  #prune: NodeJS.Timeout | undefined;
  readonly #idle = new Set<() => void>();
  /** The tail of the worker's database statements (see #db). */
  #lane: Promise<void> = Promise.resolve();
  /** Decisions that send nothing, waiting for the statement that deletes them together (#completeEmpty). */
  #emptyDecisions: Array<{ decision: PushJobRow; settle(deleted: boolean): void; fail(error: unknown): void }> = [];

  constructor(deps: PushWorkerDeps, options: PushWorkerOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  start(): void {
    if (this.#poll || this.#closed) return;
    this.#poll = setInterval(() => this.#pump(), this.#options.pollIntervalMs);
    this.#poll.unref();
    this.#prune = setInterval(() => void this.#pruneFinished(), PRUNE_INTERVAL_MS);
    this.#prune.unref();
    this.nudge();
  }

  /** A job was just stored (or became due): look at the queue on the next turn, not at the next poll. */
  nudge(): void {
    if (this.#scheduled || this.#closed || !this.#poll) return;
    this.#scheduled = true;
    // Jobs claimed now belong to no one request: their log lines carry the job's ids, not the
    // nudging request's (observability/log-context.ts).
    outsideLogContext(() =>
      setImmediate(() => {
        this.#scheduled = false;
        this.#pump();
      }),
    );
  }

  /**
   * Stops claiming and waits up to `timeoutMs` for the jobs in flight. A job still running then
   * keeps its lease and is run again by another instance (or this one restarted) when it ends.
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    clearInterval(this.#prune);
    if (this.#inFlight === 0 && !this.#claiming) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#idle.add(done);
    });
  }

  #pump(): void {
    if (this.#closed) return;
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    const free = this.#options.concurrency - this.#inFlight;
    if (free <= 0) {
      // A finishing job pumps again.
      this.#again = true;
      return;
    }
    this.#claiming = true;
    this.#again = false;
    this.#db(() => this.#deps.store.pushJobs.claim(free, this.#options.leaseMs))
      .then(
        (jobs) => {
          for (const job of jobs) this.#start(job);
          // A full claim suggests more are due.
          if (jobs.length === free) this.#again = true;
        },
        (error: unknown) => {
          this.#deps.logger.warn({ err: error }, 'push queue: could not claim jobs; will try at the next poll');
        },
      )
      .finally(() => {
        this.#claiming = false;
        if (this.#again && !this.#closed) this.#pump();
        this.#settleIfIdle();
      });
  }

  #start(job: PushJobRow): void {
    this.#inFlight++;
    const run = job.kind === 'decide' ? this.#decide(job) : this.#send(job);
    run
      .catch((error: unknown) => {
        // Only the store's own failure gets here; the lease makes the job due again.
        this.#deps.logger.warn({ err: error, jobId: job.id }, 'push queue: job failed; it is retried after its lease');
      })
      .finally(() => {
        this.#inFlight--;
        if (this.#again) this.#pump();
        this.#settleIfIdle();
      });
  }

  async #decide(decision: PushJobRow): Promise<void> {
    let sends: PushSendInput[];
    try {
      sends = await this.#deps.decider.sends(decision);
    } catch (error) {
      const retryInMs = this.#deps.policy.backoffMs(decision.attempts);
      const reason = error instanceof Error ? error.message : String(error);
      this.#deps.logger.warn(
        { jobId: decision.id, reason, retryInMs },
        'push decision postponed: presence unavailable',
      );
      await this.#db(() => this.#deps.store.pushJobs.postponeDecision(decision, retryInMs, reason));
      return;
    }
    const completed =
      sends.length === 0
        ? await this.#completeEmpty(decision)
        : await this.#db(() => this.#deps.store.pushJobs.completeDecision(decision, sends));
    if (!completed) return;
    this.#deps.metrics.pushDecided(sends.map((send) => send.provider));
    this.#deps.logger.debug({ jobId: decision.id, reason: decision.reason, offline: sends.length }, 'push decided');
    if (sends.length > 0) this.#again = true;
  }

  async #send(job: PushJobRow): Promise<void> {
    const { policy, store, logger } = this.#deps;
    const ageMs = Date.now() - job.createdAt.getTime();
    let result: PushJobResult;
    if (policy.isExpired(ageMs)) {
      result = { state: 'expired', outcome: 'expired', error: 'older than PUSH_MAX_AGE before it could be sent' };
    } else {
      const attempt = await this.#attempt(job);
      this.#deps.metrics.pushAttempted(
        providerOf(job),
        attempt.ok ? 'success' : attempt.retryable ? 'retryable' : 'permanent',
      );
      result = policy.after(attempt, job.attempts, Date.now() - job.createdAt.getTime());
    }
    if (result.state === 'expired') {
      logger.warn({ jobId: job.id, userId: job.userId, attempts: job.attempts, reason: result.error }, 'push expired');
    }
    if (!(await this.#db(() => store.pushJobs.finish(job, result)))) {
      // Our lease had ended and another claim owns the job now; its result counts, not ours.
      logger.debug({ jobId: job.id }, 'push result discarded: the job was claimed again');
      return;
    }
    if (result.state !== 'pending') this.#deps.metrics.pushJobFinished(providerOf(job), result.state);
  }

  /** One provider attempt: to the job's device (looked up now: it may have gone) or to its user. */
  async #attempt(job: PushJobRow): Promise<PushResult> {
    const { notifications, store, logger } = this.#deps;
    const { onlyMobile: _onlyMobile, ...spec } = job.notification;
    const base = { ...spec, userId: job.userId ?? '', idempotencyKey: job.id };
    if (!job.deviceId) return notifications.attempt(base, job.provider ?? undefined);
    const deviceId = job.deviceId;
    const device = await this.#db(() => store.devices.find(deviceId));
    if (!device) return { ok: false, error: 'the device was removed before the push was sent', retryable: false };
    // The token moved to another user (a shared phone, a new login): never show them this user's push.
    if (device.userId !== job.userId) {
      return { ok: false, error: 'the device now belongs to another user', retryable: false };
    }
    const result = await notifications.attempt({ ...base, target: targetOf(device) }, device.provider);
    if (!result.ok && result.targetGone && (await this.#db(() => store.devices.delete(device.id)))) {
      // The push service says the token is dead for good: forget the device (it registers again on next start).
      logger.info({ deviceId: device.id, userId: device.userId, provider: device.provider }, 'push device removed');
    }
    return result;
  }

  /**
   * A decision that sends nothing (almost every one in a clinic whose staff are online) is deleted
   * together with the others decided before the worker's next statement starts: the statements
   * run one at a time (#db), so each decision's own transaction (three round trips and a WAL
   * flush) capped the worker at about 500 decisions a second, fewer than a busy server stores
   * (docs/benchmarks.md, round 6, eleventh pass). False: another claim owns it now.
   */
  #completeEmpty(decision: PushJobRow): Promise<boolean> {
    return new Promise((settle, fail) => {
      this.#emptyDecisions.push({ decision, settle, fail });
      if (this.#emptyDecisions.length > 1) return; // the statement queued for the first takes this one too
      void this.#db(async () => {
        const batch = this.#emptyDecisions.splice(0);
        try {
          const deleted = await this.#deps.store.pushJobs.completeEmptyDecisions(batch.map((e) => e.decision));
          for (const e of batch) e.settle(deleted.has(e.decision.id));
        } catch (error) {
          for (const e of batch) e.fail(error);
        }
      });
    });
  }

  async #pruneFinished(): Promise<void> {
    try {
      const deleted = await this.#db(() => this.#deps.store.pushJobs.prune(this.#options.retentionMs));
      if (deleted > 0) this.#deps.logger.debug({ deleted }, 'push queue: pruned finished jobs');
    } catch (error) {
      this.#deps.logger.warn({ err: error }, 'push queue: could not prune finished jobs');
    }
  }

  /**
   * The worker's database statements run one at a time, whatever PUSH_CONCURRENCY: provider calls
   * overlap, but a sender's append never queues behind a burst of the worker's statements (PGlite
   * runs one statement at a time) and the worker never holds more than one pooled connection
   * (Postgres). Measured with bench/src/tools/push-throughput.ts (docs/benchmarks.md).
   */
  #db<T>(statement: () => Promise<T>): Promise<T> {
    // Each statement starts on a fresh turn, after the I/O that arrived meanwhile: on PGlite a
    // statement holds the event loop while it runs, so back-to-back worker statements would keep
    // a sender's request (and its append) waiting for the whole burst.
    const next = () => new Promise<void>((resolve) => setImmediate(resolve)).then(statement);
    const run = this.#lane.then(next, next);
    this.#lane = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #settleIfIdle(): void {
    if (this.#inFlight > 0 || this.#claiming) return;
    for (const done of this.#idle) done();
    this.#idle.clear();
  }
}

/** A send's provider label; `unknown` for a job stored without one (before the provider column). */
function providerOf(job: PushJobRow): string {
  return job.provider ?? 'unknown';
}

function targetOf(device: PushDeviceRow): PushTarget {
  if (device.provider === 'webpush' && device.subscription)
    return { provider: 'webpush', subscription: device.subscription };
  return { provider: device.provider === 'apns' ? 'apns' : 'fcm', token: device.token };
}
