import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * How busy the rest of the machine was during a run, from /proc (Linux only): the CPU time
 * spent outside the benchmark's own processes (runner, server, redis-server), in cores. On a
 * shared 2-core machine this is what makes a run trustworthy or not, so it goes in the report.
 */

interface Totals {
  readonly busy: number;
  readonly total: number;
  readonly steal: number;
}

function machineTicks(): Totals | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number) as [number, number, number, number, number, number, number, number];
    const busy = user + nice + system + irq + softirq;
    return { busy, total: busy + idle + iowait + steal, steal };
  } catch {
    return undefined;
  }
}

/**
 * utime + stime of a process, in clock ticks; 0 once it is gone. With `reaped`, also the time
 * of its children that have exited and been waited for: a child that ends during a
 * measurement (a micro benchmark, a stopped server) is counted there once its own entry is gone.
 */
function processTicks(pid: number, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]);
    return reaped ? own + Number(fields[13]) + Number(fields[14]) : own;
  } catch {
    return 0;
  }
}

/** CPU time a process has used, µs, at the kernel's tick resolution (10 ms). */
export function processCpuMicros(pid: number): number {
  return processTicks(pid) * 10_000;
}

export interface CpuShare {
  /** Cores' worth of CPU used by other processes. */
  readonly otherCores: number;
  /** Cores' worth used by the benchmark's processes. */
  readonly ownCores: number;
  /** Cores' worth the hypervisor took away. */
  readonly stealCores: number;
}

export interface CpuMeter {
  stop(): CpuShare | undefined;
}

/** Starts measuring; `pids` are the benchmark's own processes (this one is always counted). */
export function cpuMeter(pids: readonly number[]): CpuMeter {
  const all = [process.pid, ...pids];
  const ticksOf = (pid: number) => processTicks(pid, pid === process.pid);
  const startMachine = machineTicks();
  const startOwn = all.map(ticksOf);
  return {
    stop() {
      const endMachine = machineTicks();
      if (startMachine === undefined || endMachine === undefined) return undefined;
      const perCore = (endMachine.total - startMachine.total) / cpus().length;
      if (perCore <= 0) return undefined;
      const own = all.reduce((sum, pid, i) => sum + Math.max(0, ticksOf(pid) - startOwn[i]!), 0);
      const busy = endMachine.busy - startMachine.busy;
      return {
        otherCores: Math.max(0, busy - own) / perCore,
        ownCores: own / perCore,
        stealCores: (endMachine.steal - startMachine.steal) / perCore,
      };
    },
  };
}

/**
 * Waits, up to `maxWaitS`, until other processes use less than `threshold` cores over a
 * second. Returns the last share seen.
 */
export async function waitForQuiet(
  pids: readonly number[],
  threshold: number,
  maxWaitS: number,
): Promise<CpuShare | undefined> {
  const deadline = Date.now() + maxWaitS * 1000;
  for (;;) {
    const meter = cpuMeter(pids);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const share = meter.stop();
    if (share === undefined || share.otherCores < threshold || Date.now() >= deadline) return share;
  }
}
