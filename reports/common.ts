/**
 * Shared by the report writers: where reports go, the stamp every report starts with (date,
 * machine, git commit, the exact command), Markdown helpers and a bounded command runner.
 */
import { execFileSync, spawn } from "child_process";
import { mkdirSync, writeFileSync } from "fs";
import { cpus, totalmem } from "os";
import { join, resolve } from "path";

export const ROOT = resolve(__dirname, "..");
export const REPORT_DIR = join(ROOT, "docs/reports");
export const COMMAND = "npm run reports";

function git(...args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

export function machine(): string {
  const list = cpus();
  const model = list[0]?.model.trim() ?? "unknown CPU";
  const memory = (totalmem() / 1024 ** 3).toFixed(1);
  return `${list.length} cores (${model}), ${memory} GiB memory, Node.js ${process.version}, ${process.platform}`;
}

export function commit(): string {
  const head = git("rev-parse", "--short", "HEAD");
  const dirty = git("status", "--porcelain") ? " + uncommitted changes in the working tree" : "";
  return `${head}${dirty}`;
}

/** The header of every report: what it is, when, where, from which code, by which command. */
export function stamp(title: string, section: string): string {
  return [
    `# ${title}`,
    "",
    "| | |",
    "|---|---|",
    `| generated | ${new Date().toISOString()} |`,
    `| machine | ${machine()} |`,
    `| git commit | ${commit()} |`,
    `| command | \`${COMMAND}\` (this section alone: \`${COMMAND} -- ${section}\`) |`,
    "",
  ].join("\n");
}

export function table(header: string[], rows: (string | number)[][]): string {
  const escape = (cell: string | number) => String(cell).replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`),
  ].join("\n");
}

export function writeReport(file: string, text: string): string {
  mkdirSync(REPORT_DIR, { recursive: true });
  const path = join(REPORT_DIR, file);
  writeFileSync(path, text.endsWith("\n") ? text : `${text}\n`);
  return path;
}

export function log(message: string): void {
  console.log(`[reports] ${message}`);
}

/** Runs a command with the repository as its directory; resolves with its exit code. */
export function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30 * 60 * 1000,
): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done(code ?? 1);
    });
  });
}

export const round = (value: number, digits = 1): string =>
  Number.isFinite(value) ? value.toFixed(digits) : "–";
