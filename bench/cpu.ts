/**
 * Who used the CPU while a case ran, from /proc (Linux): the bench's own processes (load
 * generator, Campus nodes, bare server), the shared servers (PostgreSQL, NATS, Redis — which may
 * also serve other users of the machine), and everything else. "Other" is the machine's busy
 * time minus the first two, so it also counts processes that started and ended within the case:
 * on a shared machine it says how far a case's figures were disturbed.
 */
import { execFileSync } from "child_process";
import { readFileSync, readdirSync } from "fs";

const SERVER_COMMANDS = new Set(["postgres", "nats-server", "redis-server"]);

let ticksPerSecond: number | null = null;
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** user + system ticks and the command name of one process, or null if it is gone. */
function processTicks(pid: string): { ticks: number; command: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command is in parentheses and may contain spaces; the fields follow the last ")".
    const close = stat.lastIndexOf(")");
    const command = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime) are the 12th and 13th after ")".
    return { ticks: Number(fields[11]) + Number(fields[12]), command };
  } catch {
    return null;
  }
}

function machineBusyTicks(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + steal;
}

export interface CpuSnapshot {
  at: number;
  machine: number;
  perProcess: Map<string, { ticks: number; command: string }>;
}

export function snapshot(): CpuSnapshot {
  const perProcess = new Map<string, { ticks: number; command: string }>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const entry = processTicks(pid);
    if (entry) perProcess.set(pid, entry);
  }
  return { at: performance.now(), machine: machineBusyTicks(), perProcess };
}

/** Cores used on average between two snapshots (1.0 = one core busy all the time). */
export interface CpuShare {
  bench: number;
  servers: number;
  other: number;
  /** Length of the window, seconds. */
  seconds: number;
}

/** Several windows as one: the cores of each, weighted by its length. */
export function combine(windows: CpuShare[]): CpuShare {
  const seconds = windows.reduce((sum, w) => sum + w.seconds, 0);
  const weighted = (pick: (w: CpuShare) => number) =>
    seconds === 0 ? 0 : windows.reduce((sum, w) => sum + pick(w) * w.seconds, 0) / seconds;
  return {
    bench: weighted((w) => w.bench),
    servers: weighted((w) => w.servers),
    other: weighted((w) => w.other),
    seconds,
  };
}

export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, benchPids: number[]): CpuShare {
  const seconds = (after.at - before.at) / 1000;
  const ticks = clockTicks();
  const ours = new Set(benchPids.map(String));
  let bench = 0;
  let servers = 0;
  for (const [pid, now] of after.perProcess) {
    const then = before.perProcess.get(pid);
    const used = now.ticks - (then && then.command === now.command ? then.ticks : 0);
    if (ours.has(pid)) bench += used;
    else if (SERVER_COMMANDS.has(now.command)) servers += used;
  }
  const busy = after.machine - before.machine;
  const cores = (value: number) => Math.max(0, value) / ticks / seconds;
  return {
    bench: cores(bench),
    servers: cores(servers),
    other: cores(busy - bench - servers),
    seconds,
  };
}
