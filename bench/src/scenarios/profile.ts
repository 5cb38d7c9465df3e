/** Sizes and durations of each scenario: `quick` (whole run < 2 min) and `full`. */
export interface Profile {
  name: 'quick' | 'full';
  warmupMs: number;
  measureMs: number;
  fanout: { subscribers: number; openRate: number; window: number; bodyBytes: number };
  idle: { connections: number };
  cross: { rooms: number; perRoom: number; openRatePerRoom: number; window: number; bystanders: number };
  persisted: { conversations: number; openRate: number; window: number };
  workers: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  quick: {
    name: 'quick',
    warmupMs: 1_000,
    measureMs: 1_800,
    fanout: { subscribers: 1000, openRate: 50, window: 4, bodyBytes: 1024 },
    idle: { connections: 2_000 },
    cross: { rooms: 50, perRoom: 10, openRatePerRoom: 4, window: 8, bystanders: 50 },
    persisted: { conversations: 200, openRate: 1500, window: 4 },
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
    workers: 2,
  },
};
