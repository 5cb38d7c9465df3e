/** Sizes and durations of each scenario: `quick` (whole run < 2 min) and `full`. */
export interface Profile {
  name: 'quick' | 'full';
  warmupMs: number;
  measureMs: number;
  fanout: { subscribers: number; openRate: number; window: number; bodyBytes: number };
  idle: { connections: number };
  cross: { rooms: number; perRoom: number; openRatePerRoom: number; window: number; bystanders: number };
  persisted: { conversations: number; openRate: number; window: number };
  /**
   * Scenario 5: `subscribers` in one room at `rate` msg/s of `bodyBytes` (as scenario 1); the slow
   * one is also the only reader of a side stream (`sideRate` msg/s of `sideBodyBytes`) that fills
   * its queue in seconds instead of minutes. ms: baseline, slow phase, sample interval.
   */
  slow: {
    subscribers: number;
    rate: number;
    bodyBytes: number;
    sideRate: number;
    sideBodyBytes: number;
    maxBufferedBytes: number;
    baselineMs: number;
    slowMs: number;
    sampleMs: number;
  };
  /** Scenario 6: `clients` on A; survivors on B in rooms of `perRoom`, each room fed at `rate` msg/s. ms: pre-kill window, give-up time. */
  storm: { clients: number; rooms: number; perRoom: number; rate: number; beforeMs: number; maxMs: number };
  /**
   * Scenario 7: `connections` users in conversations of 2–5, each member sending `ratePerMember` msg/s.
   * `readIntervalMs`: ours' members also mark every message they receive read, through the SDK's
   * ReadReceipts with this interval (the clinic's real shape: read receipts from an open chat view;
   * `--chatmix-reads` takes the SDK's default, `--chatmix-read-interval 0` a `read` frame per
   * message); unset, no reads. The peers have no receipts.
   * `staff` (`--chatmix-staff`): ours' first member of each conversation is a consultant, so every
   * message also stores a push decision (a consultation reply, or a customer's message to staff).
   */
  chatmix: { connections: number; ratePerMember: number; bodyBytes: number; readIntervalMs?: number; staff?: boolean };
  /** Scenario 8: new connections opened per phase (ours: one bench user each). */
  connect: { connections: number };
  workers: number;
}

const SLOW_FULL: Profile['slow'] = {
  subscribers: 1000,
  // 20k deliveries/s: well inside every target's capacity even on a shared machine, so a rise in the
  // others' p99 comes from the slow one, not from saturation (scenario 1's 50 msg/s was not, under load).
  rate: 20,
  bodyBytes: 1024,
  sideRate: 50,
  sideBodyBytes: 32 * 1024,
  maxBufferedBytes: 1024 * 1024,
  baselineMs: 8_000,
  slowMs: 50_000,
  sampleMs: 1_000,
};

export const PROFILES: Record<Profile['name'], Profile> = {
  quick: {
    name: 'quick',
    warmupMs: 600,
    measureMs: 1_200,
    fanout: { subscribers: 1000, openRate: 50, window: 4, bodyBytes: 1024 },
    idle: { connections: 1_000 },
    cross: { rooms: 25, perRoom: 10, openRatePerRoom: 8, window: 8, bystanders: 25 },
    persisted: { conversations: 200, openRate: 1500, window: 4 },
    slow: { ...SLOW_FULL, baselineMs: 4_000, slowMs: 15_000 },
    storm: { clients: 1_000, rooms: 10, perRoom: 10, rate: 10, beforeMs: 2_000, maxMs: 60_000 },
    chatmix: { connections: 500, ratePerMember: 1, bodyBytes: 200 },
    connect: { connections: 1_000 },
    workers: 2,
  },
  full: {
    name: 'full',
    warmupMs: 3_000,
    measureMs: 8_000,
    fanout: { subscribers: 1000, openRate: 50, window: 4, bodyBytes: 1024 },
    idle: { connections: 10_000 },
    cross: { rooms: 100, perRoom: 10, openRatePerRoom: 2, window: 8, bystanders: 200 },
    persisted: { conversations: 500, openRate: 1500, window: 4 },
    slow: SLOW_FULL,
    storm: { clients: 5_000, rooms: 10, perRoom: 10, rate: 10, beforeMs: 3_000, maxMs: 90_000 },
    chatmix: { connections: 2_000, ratePerMember: 1, bodyBytes: 200 },
    connect: { connections: 5_000 },
    workers: 2,
  },
};
