/**
 * Where a node's CPU goes under load: a V8 CPU profile (`node --cpu-prof`, written when the node
 * exits) cut to the load window and summed by area (Moleculer, moleculer-web, Node's HTTP, the
 * kernel's socket writes, logging, Campus's own code…) and by function (self time).
 */
import { readFileSync, readdirSync, statSync } from "fs";
import { join } from "path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  name: string;
  /** Share of the busy (not idle) samples, %. */
  percent: number;
}

export interface ProfileSummary {
  /** What was profiled, e.g. "1 process, memory cache: GET /api/students/:id". */
  label: string;
  /** Which process: its node name in the bench. */
  node: string;
  reqPerSec: number;
  responses: number;
  /** Milliseconds of samples inside the load window, and the share the thread was idle. */
  windowMs: number;
  idlePercent: number;
  /** Busy CPU milliseconds per request, from the samples. */
  cpuMsPerRequest: number;
  areas: ProfileShare[];
  functions: (ProfileShare & { where: string })[];
}

/** The main thread's profile: the largest file of the directory (tsx's loader thread writes one too). */
export function mainProfileFile(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${dir}`);
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

function packageOf(url: string): string | null {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  return match ? match[1] : null;
}

/** The area a function belongs to, by where its code lives. */
export function areaOf(frame: ProfileNode["callFrame"], projectRoot: string): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === "(garbage collector)") return "garbage collection";
    if (functionName === "(program)") return "V8 and native (unattributed)";
    if (/^(writev|writeBuffer|writeString|writeUtf8String)$/.test(functionName)) {
      return "socket and file writes (kernel, incl. loopback TCP)";
    }
    return "native";
  }
  const pkg = packageOf(url);
  if (pkg === "moleculer") return "moleculer (broker, middlewares, metrics)";
  if (pkg === "moleculer-web") return "moleculer-web (gateway)";
  if (pkg && /^(jsonwebtoken|jws|jwa)$/.test(pkg)) return "jsonwebtoken";
  if (pkg) return `other packages (${pkg})`;
  if (/^node:(_http|http|net|internal\/streams|stream)/.test(url)) return "Node http and streams";
  if (url.startsWith("node:")) return "Node internals (promises, async hooks, events…)";
  const relative = url.replace(/^file:\/\//, "").replace(`${projectRoot}/`, "");
  if (
    relative.startsWith("lib/logging") ||
    relative.startsWith("services/api/http-observability")
  ) {
    return "Campus logging and HTTP metrics";
  }
  const folder = relative.split("/")[0];
  return `Campus ${folder}/`;
}

function top(map: Map<string, number>, total: number, count: number): ProfileShare[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => ({ name, percent: (100 * micros) / total }));
}

/**
 * Sums the samples taken between `fromUs` and `toUs` (microseconds on the profiled process's
 * monotonic clock, the clock of `process.hrtime` on the same machine).
 */
export function summarizeProfile(
  profile: CpuProfile,
  window: { fromUs: number; toUs: number },
  projectRoot: string,
): Omit<ProfileSummary, "label" | "node" | "reqPerSec" | "responses" | "cpuMsPerRequest"> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  let windowUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.fromUs || at > window.toUs) return;
    windowUs += delta;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  let idleUs = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const area = areaOf(frame, projectRoot);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = frame.url
      ? `${frame.url
          .replace(/^file:\/\//, "")
          .replace(`${projectRoot}/`, "")
          .replace(/.*node_modules\//, "")}:${frame.lineNumber + 1}`
      : "native";
    const key = `${frame.functionName || "(anonymous)"}\t${where}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
  }
  const busyUs = windowUs - idleUs;
  return {
    windowMs: windowUs / 1000,
    idlePercent: windowUs > 0 ? (100 * idleUs) / windowUs : 0,
    areas: top(areas, busyUs, 12),
    functions: top(functions, busyUs, 15).map((share) => {
      const [name, where] = share.name.split("\t");
      return { name, where, percent: share.percent };
    }),
  };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
}
