/**
 * What the kernel says about a process: CPU seconds (user + system, all threads) and RSS,
 * read from /proc so every target is measured the same way without its cooperation.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime and stime in seconds from a `/proc/…/stat` file (a process's or one thread's). */
function statTimes(path: string): { user: number; system: number } {
  const stat = readFileSync(path, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / clockTicks(), system: Number(fields[12]) / clockTicks() };
}

/** utime + stime of `pid` in seconds (10 ms resolution on Linux). */
export function cpuSeconds(pid: number): number {
  const { user, system } = statTimes(`/proc/${pid}/stat`);
  return user + system;
}

/** Resident set size of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * Read and write system calls `pid` has made since it started (`syscr`, `syscw` of /proc/PID/io:
 * read/recv and write/writev/send calls, whatever the file descriptor). A storm's per-reconnect
 * count shows how many separate writes (to clients, Redis, Postgres) a step costs.
 */
export function syscallCounts(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return {
    reads: Number(/syscr:\s+(\d+)/.exec(io)?.[1] ?? Number.NaN),
    writes: Number(/syscw:\s+(\d+)/.exec(io)?.[1] ?? Number.NaN),
  };
}

export interface CpuWindow {
  /** CPU seconds spent between start() and stop(). */
  stop(): { cpuSeconds: number; wallSeconds: number; utilisation: number };
}

/** Start measuring the CPU of `pid`; `stop()` returns the delta and the share of one core. */
export function measureCpu(pid: number): CpuWindow {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  return {
    stop() {
      const cpu = cpuSeconds(pid) - cpu0;
      const wall = (performance.now() - t0) / 1000;
      return { cpuSeconds: cpu, wallSeconds: wall, utilisation: wall > 0 ? cpu / wall : 0 };
    },
  };
}

/**
 * CPU seconds of the whole machine (all cores, or one `core`) since boot, from /proc/stat: `busy` (all but idle
 * and iowait) and the part of it spent in interrupt/softirq context (on loopback, much of the
 * TCP receive path runs there and is charged to no process), and `steal` (taken by the host).
 */
export function machineCpuSeconds(core?: number): { busy: number; irq: number; steal: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  // Line 0 sums every core ("cpu "); `core` picks that core's own line ("cpu0 ", …) instead.
  const line = (core === undefined ? lines[0] : lines.find((l) => l.startsWith(`cpu${core} `))) ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const total = ticks.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (ticks[3] || 0) + (ticks[4] || 0);
  const hz = clockTicks();
  return { busy: (total - idle) / hz, irq: ((ticks[5] || 0) + (ticks[6] || 0)) / hz, steal: (ticks[7] || 0) / hz };
}

/** PIDs whose command name is `name` (e.g. the machine's `postgres` processes). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * The CPU seconds the processes called `name` (e.g. the machine's `postgres` backends) spend between this
 * call and `stop()`. Each process alive at the start counts its CPU since then if it is still alive at the
 * end; one that exited meanwhile counts 0 (/proc no longer has its last ticks); one that started meanwhile
 * counts whole. Summing all of them at both ends instead went negative whenever a backend exited during the
 * window (a pool closing after the previous phase), as scenario 8 once printed (−130 µs per connection).
 */
export function measureCpuOfNamed(name: string): { stop(): number } {
  const before = new Map(pidsNamed(name).map((pid) => [pid, cpuSecondsOf([pid])]));
  return {
    stop() {
      let sum = 0;
      for (const pid of pidsNamed(name)) {
        const now = cpuSecondsOf([pid]);
        const start = before.get(pid) ?? 0;
        // A smaller figure than at the start means the PID was reused by a new process: count it whole.
        sum += now >= start ? now - start : now;
      }
      return sum;
    },
  };
}

/** Summed CPU seconds of `pids` (processes that exited meanwhile count 0). */
export function cpuSecondsOf(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuSeconds(pid);
    } catch {
      // exited
    }
  }
  return sum;
}

/**
 * The machine's TCP listen-queue overflows so far (`TcpExt: ListenOverflows` in /proc/net/netstat):
 * each one is a SYN dropped because a listener's accept queue was full, which costs its client a
 * 1 s (then 3 s, …) SYN retransmit. Machine-wide: take a delta around a window with one listener busy.
 */
export function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('TcpExt:') || !lines[i + 1]!.startsWith('TcpExt:')) continue;
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    const at = names.indexOf('ListenOverflows');
    return at < 0 ? 0 : Number(values[at]);
  }
  return 0;
}

/**
 * Context switches of a process's main thread (`/proc/PID/task/PID/status`): voluntary (it
 * waited, e.g. in epoll) and involuntary (the scheduler took the core away, e.g. for a process
 * woken on the same core). Zeros once the process is gone.
 */
export function contextSwitches(pid: number): { voluntary: number; involuntary: number } {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  } catch {
    return { voluntary: 0, involuntary: 0 };
  }
  const count = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { voluntary: count('voluntary_ctxt_switches'), involuntary: count('nonvoluntary_ctxt_switches') };
}

/** User and system CPU seconds of one process, split into its main thread and all its other threads. */
export interface ThreadCpu {
  main: { user: number; system: number };
  others: { user: number; system: number };
}

/**
 * `pid`'s CPU by thread (/proc/PID/task/TID/stat): the main thread (TID = PID) runs the JavaScript
 * and the event loop's system calls; Node's other threads are V8's (the optimizing compiler,
 * concurrent GC) and libuv's pool. A thread that ended in between is not counted.
 */
export function threadCpu(pid: number): ThreadCpu {
  const result: ThreadCpu = { main: { user: 0, system: 0 }, others: { user: 0, system: 0 } };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return result;
  }
  for (const tid of tids) {
    let times: { user: number; system: number };
    try {
      times = statTimes(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      continue; // the thread ended
    }
    const into = tid === String(pid) ? result.main : result.others;
    into.user += times.user;
    into.system += times.system;
  }
  return result;
}
