/**
 * Shared by the delivery tests (image, Compose, Kubernetes, CI workflow): the repository's files,
 * a bounded command runner, and the check every container's environment must pass — the real
 * configuration loader, as a node would run it.
 */
import { spawn, type SpawnOptions } from "child_process";
import { readFileSync } from "fs";
import { createServer } from "net";
import { join, resolve } from "path";
import { DockerfileParser, type Env } from "dockerfile-ast";
import { ConfigError, loadConfig } from "../../lib/config";

export const ROOT = resolve(__dirname, "../..");

export function repoFile(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, killed (and failed) after `timeoutMs`. */
export function runCommand(
  file: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number; input?: string } = {},
): Promise<CommandResult> {
  const { timeoutMs = 120000, input, ...spawnOptions } = options;
  return new Promise((done, fail) => {
    const child = spawn(file, args, { cwd: ROOT, ...spawnOptions, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${file} ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin!.end(input ?? "");
  });
}

/** Whether a command is on PATH (for tools a test uses when the machine has them). */
export async function hasCommand(name: string): Promise<boolean> {
  const result = await runCommand("sh", ["-c", `command -v ${name}`]);
  return result.code === 0;
}

/**
 * Why a node started with this environment (placeholders filled in) would stop at start-up, or
 * null if it would not:
 * `loadConfig` (lib/config.ts) plus the one check `createNode` (lib/node.ts) adds — with a
 * transporter, every database-owning service needs a database URL.
 */
export function configProblem(env: Record<string, string | undefined>): string | null {
  // The committed examples hold CHANGE-ME placeholders, which production refuses on purpose
  // (lib/config.ts); check the wiring as an operator would run it, with each one replaced.
  const filled = Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      value?.startsWith("CHANGE-ME")
        ? `operator-chosen-${key.toLowerCase()}-k8Jx2m9QvR4tW7yB1nC5`
        : value,
    ]),
  );
  try {
    const config = loadConfig({ LOG_FORMAT: "json", ...filled });
    const embedded = config.services.filter(
      (name) => name !== "api" && !config.databaseUrls[name as keyof typeof config.databaseUrls],
    );
    if (config.transporter && embedded.length > 0) {
      return `${embedded.join(", ")} would use the embedded database beside a transporter`;
    }
    return null;
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}

/** The ENV of the Dockerfile's last (runtime) stage: what every container starts with. */
export function imageEnvironment(): Record<string, string> {
  const instructions = DockerfileParser.parse(repoFile("Dockerfile")).getInstructions();
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf("FROM");
  const env: Record<string, string> = {};
  for (const instruction of instructions.slice(lastFrom)) {
    if (instruction.getKeyword() !== "ENV") continue;
    for (const property of (instruction as Env).getProperties()) {
      env[property.getName()] = property.getValue() ?? "";
    }
  }
  return env;
}
