/**
 * The target side of the orchestrator's IPC channel: announce the port, answer `gc` with
 * the RSS after a full collection (targets run with --expose-gc), report connection counts,
 * and run the target's own `setup`. Exits when the orchestrator goes away.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import type { BufferStats, ServerCommand, ServerReply } from '../common/types.ts';

let session: Session | undefined;

export interface TargetHooks {
  setup?(command: Extract<ServerCommand, { type: 'setup' }>): Promise<Extract<ServerReply, { type: 'setup-done' }>>;
  connections(): number;
  /** What the server has queued toward its sockets (without `rss`, which control adds). */
  buffers?(): Omit<BufferStats, 'rss'>;
}

export function reply(message: ServerReply): void {
  process.send?.(message);
}

export function serveControl(hooks: TargetHooks): void {
  process.on('message', (raw) => {
    const command = raw as ServerCommand;
    void handle(command, hooks).catch((error: unknown) =>
      reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  // The orchestrator died or closed the channel: nobody will stop us, so stop.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

async function handle(command: ServerCommand, hooks: TargetHooks): Promise<void> {
  switch (command.type) {
    case 'setup': {
      if (!hooks.setup) {
        // Unique per deployment, so one generator can drive several targets at once.
        reply({ type: 'setup-done', users: [], rooms: command.rooms.map((_, i) => `p${process.pid}r${i}`) });
        return;
      }
      reply(await hooks.setup(command));
      return;
    }
    case 'gc': {
      const gc = (globalThis as { gc?: () => void }).gc;
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((r) => setTimeout(r, 100));
      }
      const memory = process.memoryUsage();
      reply({ type: 'gc-done', rss: memory.rss, heapUsed: memory.heapUsed });
      return;
    }
    case 'stats':
      reply({ type: 'stats', connections: hooks.connections() });
      return;
    case 'buffers': {
      const queued = hooks.buffers?.() ?? {
        connections: hooks.connections(),
        maxQueuedBytes: 0,
        totalQueuedBytes: 0,
        closing: 0,
      };
      reply({ type: 'buffers', stats: { ...queued, rss: process.memoryUsage.rss() } });
      return;
    }
    case 'heap-snapshot':
      writeHeapSnapshot(command.file);
      reply({ type: 'profile-done', file: command.file });
      return;
    case 'profile-start':
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
      if (process.env.BENCH_HEAP_PROFILE) {
        // Every sampled allocation, also those a GC has freed since: what the phase allocates, not what it keeps.
        await session.post('HeapProfiler.enable');
        await session.post('HeapProfiler.startSampling', {
          samplingInterval: 4096,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        } as never);
      }
      reply({ type: 'profile-done' });
      return;
    case 'profile-stop': {
      if (!session) {
        reply({ type: 'profile-done' });
        return;
      }
      const { profile } = await session.post('Profiler.stop');
      if (process.env.BENCH_HEAP_PROFILE) {
        const heap = await session.post('HeapProfiler.stopSampling');
        writeFileSync(command.file.replace(/\.cpuprofile$/, '.heapprofile'), JSON.stringify(heap.profile));
      }
      session.disconnect();
      session = undefined;
      writeFileSync(command.file, JSON.stringify(profile));
      reply({ type: 'profile-done', file: command.file });
      return;
    }
  }
}

export function envPort(): number {
  return Number(process.env.BENCH_PORT ?? 0);
}
