/**
 * `measureCpuOfNamed` (bench/src/common/proc.ts) on real processes: a process that exits inside
 * the window must not take its earlier CPU out of the figure (the bench once printed Postgres at
 * −130 µs per connection that way), and one that starts inside it counts whole. The processes are
 * `yes` started through a symlink with a name of this run's own, so no other process matches.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contextSwitches, cpuSeconds, listenOverflows, measureCpuOfNamed, threadCpu } from '../src/common/proc.ts';

// /proc/PID/comm keeps 15 characters: the name must fit so that pidsNamed finds it.
const name = `burn-${process.pid}`.slice(0, 15);
const dir = mkdtempSync(join(tmpdir(), 'proc-test-'));
const burner = join(dir, name);
symlinkSync('/usr/bin/yes', burner);
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function burn(): ChildProcess {
  const child = spawn(burner, [], { stdio: ['ignore', 'ignore', 'ignore'] });
  children.push(child);
  return child;
}

/** Polls /proc until `pid` has spent `seconds` of CPU; fails saying so after 10 s. */
async function untilCpu(pid: number, seconds: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const spent = cpuSeconds(pid);
    if (spent >= seconds) return spent;
    if (Date.now() > deadline)
      throw new Error(`process ${pid} spent only ${spent} s of CPU in 10 s, waited for ${seconds}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('measureCpuOfNamed', () => {
  it('leaves out a process that exited inside the window and counts one that started in it whole', async () => {
    const early = burn();
    // Its CPU before the window is what the old sum subtracted when it exited.
    const before = await untilCpu(early.pid!, 0.3);
    const window = measureCpuOfNamed(name);
    const exited = once(early, 'exit');
    early.kill('SIGKILL');
    await exited;
    const late = burn();
    const lateSpent = await untilCpu(late.pid!, 0.05);
    const counted = window.stop();
    expect(counted).toBeGreaterThanOrEqual(lateSpent);
    // Only what `late` spent since (its CPU keeps growing until it is stopped), never the exited one's history.
    expect(counted).toBeLessThan(lateSpent + before);
    late.kill('SIGKILL');
  });
});

describe('listenOverflows', () => {
  it('counts the SYNs a listener that never accepts drops once its accept queue is full', async () => {
    // A listener with a backlog of 1 that never calls accept(): Node accepts by itself, so python does it.
    const listener = spawn('python3', [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(1)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)',
    ]);
    children.push(listener);
    const [line] = (await once(listener.stdout!, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    const before = listenOverflows();
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 6; i++) sockets.push(connect(port, '127.0.0.1').on('error', () => undefined));
      const deadline = Date.now() + 10_000;
      while (listenOverflows() === before) {
        if (Date.now() > deadline)
          throw new Error('no listen overflow counted in 10 s for 6 connects to a backlog of 1');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(listenOverflows()).toBeGreaterThan(before);
    } finally {
      for (const socket of sockets) socket.destroy();
      listener.kill('SIGKILL');
    }
  });
});

describe('threadCpu', () => {
  it("puts a worker thread's CPU under the other threads and the main thread's under main", async () => {
    // The main thread burns 0.4 s of CPU, then a worker 0.6 s while the main thread idles; both
    // then stay until killed, since an ended thread leaves /proc/PID/task and its CPU with it.
    // CPU, not wall time: a busy machine cannot make either burn less.
    const script = join(dir, 'thread-burn.cjs');
    writeFileSync(
      script,
      [
        "const { Worker, isMainThread, parentPort } = require('node:worker_threads');",
        'function burn(seconds) {',
        '  const start = process.cpuUsage();',
        '  for (;;) {',
        '    const used = process.cpuUsage(start);',
        '    if (used.user + used.system >= seconds * 1e6) return;',
        '  }',
        '}',
        'setInterval(() => {}, 1000);',
        'if (isMainThread) {',
        '  burn(0.4);',
        "  new Worker(__filename).on('message', () => console.log('done'));",
        '} else {',
        '  burn(0.6);',
        '  parentPort.postMessage(1);',
        '}',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [script]);
    children.push(child);
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    expect(line.toString()).toContain('done');
    const cpu = threadCpu(child.pid!);
    child.kill('SIGKILL');
    expect(cpu.main.user + cpu.main.system).toBeGreaterThanOrEqual(0.25);
    expect(cpu.others.user + cpu.others.system).toBeGreaterThanOrEqual(0.5);
  });
});

describe('contextSwitches', () => {
  it("counts a main thread's waits as voluntary switches", async () => {
    const before = contextSwitches(process.pid);
    // While a timer runs, the main thread usually has nothing to do and blocks in epoll until it
    // fires (not always: another callback may be due), so most of the 20 waits are a switch.
    for (let k = 0; k < 20; k++) await new Promise((resolve) => setTimeout(resolve, 2));
    const after = contextSwitches(process.pid);
    expect(after.voluntary - before.voluntary).toBeGreaterThanOrEqual(10);
  });

  it('counts the core taken away from a busy process as involuntary switches', async () => {
    // Two processes that never wait, on one core: the scheduler switches between them.
    const pinned = [0, 1].map(() => {
      const child = spawn('taskset', ['-c', '0', burner], { stdio: ['ignore', 'ignore', 'ignore'] });
      children.push(child);
      return child;
    });
    await Promise.all(pinned.map((child) => untilCpu(child.pid!, 0.2)));
    const switches = contextSwitches(pinned[0]!.pid!);
    for (const child of pinned) child.kill('SIGKILL');
    expect(switches.involuntary).toBeGreaterThan(10);
    expect(switches.voluntary).toBeLessThan(switches.involuntary);
  });

  it('reads zeros for a process that is gone', () => {
    expect(contextSwitches(2 ** 22 + 1)).toEqual({ voluntary: 0, involuntary: 0 });
  });
});
