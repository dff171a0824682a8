/** What /proc tells about a process: memory, CPU time, file limit. Linux only. */
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

let clockTicks: number | undefined;

/** Kernel clock ticks a second (`getconf CLK_TCK`), the unit of /proc CPU times. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident set size in bytes (VmRSS), or undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User plus system CPU time the process has used, in seconds. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces: fields are counted from after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** The open-file limit of this process: soft and hard. */
export function fileLimit(): { soft: number; hard: number } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  const value = (s: string | undefined) => (s === undefined || s === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(s));
  return { soft: value(line?.[1]), hard: value(line?.[2]) };
}

/** Measures CPU use of a process over an interval, as a share of one core (1 = one core busy). */
export class CpuMeter {
  private readonly startCpu: number;
  private readonly startAt = performance.now();

  constructor(private readonly pid: number) {
    this.startCpu = cpuSeconds(pid) ?? 0;
  }

  /** Cores used on average since the meter started. */
  cores(): number {
    const seconds = (performance.now() - this.startAt) / 1000;
    return seconds > 0 ? ((cpuSeconds(this.pid) ?? this.startCpu) - this.startCpu) / seconds : 0;
  }
}

/** CPU use of named processes since the call: in cores together, and each's share as text ("edge0 2.1 %, nats 0.8 %"). */
export function meterEach(processes: ReadonlyArray<{ name: string; pid: number }>): () => { cores: number; each: string } {
  const meters = processes.map(({ name, pid }) => ({ name, meter: new CpuMeter(pid) }));
  return () => {
    const shares = meters.map(({ name, meter }) => ({ name, cores: meter.cores() }));
    return {
      cores: shares.reduce((sum, s) => sum + s.cores, 0),
      each: shares.map((s) => `${s.name} ${(s.cores * 100).toFixed(1)} %`).join(", "),
    };
  };
}

/** Samples a process's RSS every `everyMs` until stopped; reports the first, last and peak. */
export class RssSampler {
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): { first: number; last: number; peak: number } {
    clearInterval(this.timer);
    this.sample();
    return { first: this.samples[0] ?? 0, last: this.samples.at(-1) ?? 0, peak: Math.max(0, ...this.samples) };
  }

  private sample(): void {
    const rss = rssBytes(this.pid);
    if (rss !== undefined) this.samples.push(rss);
  }
}

/** TCP listen-queue overflows and drops so far on this machine (/proc/net/netstat, TcpExt). */
export function listenOverflows(): { overflows: number; drops: number } {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n").filter((l) => l.startsWith("TcpExt:"));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/).map(Number);
    const get = (name: string) => values[names.indexOf(name)] ?? 0;
    return { overflows: get("ListenOverflows"), drops: get("ListenDrops") };
  } catch {
    return { overflows: 0, drops: 0 };
  }
}
