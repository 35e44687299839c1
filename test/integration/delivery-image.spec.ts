/**
 * The container image, proven without a Docker engine. The Dockerfile is parsed (dockerfile-ast)
 * and linted (dockerfile-utils); then its runtime stage is rebuilt in a temporary directory: the
 * prod-deps stage's own install command, the files the runtime stage copies and nothing else,
 * the image's ENV, USER and CMD. A runtime dependency missing from `dependencies`, or a source
 * file the Dockerfile forgets to copy, fails here instead of in a deployment.
 */
import { spawn, type ChildProcess } from "child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, posix } from "path";
import {
  DockerfileParser,
  type Copy,
  type Healthcheck,
  type Instruction,
  type JSONInstruction,
} from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { ALL_SERVICES } from "../../lib/config";
import { eventually } from "../helpers/campus";
import { ROOT, freePort, imageEnvironment, repoFile, runCommand } from "../helpers/delivery";

interface Stage {
  name: string;
  image: string;
  workdir: string;
  instructions: Instruction[];
}

const dockerfileText = repoFile("Dockerfile");
const dockerfile = DockerfileParser.parse(dockerfileText);

function stagesOf(): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const args = instruction.getArguments().map((arg) => arg.getValue());
    if (instruction.getKeyword() === "FROM") {
      stages.push({
        name: args[2] ?? String(stages.length),
        image: args[0],
        workdir: "/",
        instructions: [],
      });
      continue;
    }
    const stage = stages[stages.length - 1];
    stage.instructions.push(instruction);
    if (instruction.getKeyword() === "WORKDIR")
      stage.workdir = posix.resolve(stage.workdir, args[0]);
  }
  return stages;
}

const stages = stagesOf();
const runtime = stages[stages.length - 1];

function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.getKeyword() === keyword);
}

function argsOf(instruction: Instruction): string[] {
  return instruction.getArguments().map((arg) => arg.getValue());
}

/** The exec form (`["a", "b"]`) of CMD or ENTRYPOINT. */
function execForm(instruction: Instruction): string[] {
  return (instruction as JSONInstruction).getJSONStrings().map((arg) => arg.getJSONValue());
}

function stageNamed(name: string): Stage {
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`the Dockerfile has no stage "${name}"`);
  return stage;
}

function flagOf(instruction: Instruction, name: string): string | null {
  const flag = (instruction as Copy).getFlags().find((candidate) => candidate.getName() === name);
  return flag ? flag.getValue() : null;
}

/** Where each source of a COPY lands, as absolute paths in the stage. */
function copyTargets(stage: Stage, copy: Instruction): { source: string; target: string }[] {
  const args = argsOf(copy);
  const destination = posix.resolve(stage.workdir, args[args.length - 1]);
  const intoDirectory = args.length > 2 || args[args.length - 1].endsWith("/");
  return args.slice(0, -1).map((source) => ({
    source,
    target: intoDirectory ? posix.join(destination, posix.basename(source)) : destination,
  }));
}

/** The build-context path that put `path` into `stage`, or null if a RUN made it. */
function contextSourceOf(stage: Stage, path: string): string | null {
  for (const copy of instructionsOf(stage, "COPY")) {
    if (flagOf(copy, "from")) continue;
    const match = copyTargets(stage, copy).find(({ target }) => target === path);
    if (match) return match.source;
  }
  return null;
}

/**
 * The runtime stage's files: build-context paths, what an earlier stage's RUN made in the
 * repository's own layout (the build stage compiles into dist/), and what prod-deps installed.
 */
function runtimeFiles(): {
  context: { source: string; target: string }[];
  built: { stage: Stage; source: string; target: string }[];
  installed: string[];
} {
  const context: { source: string; target: string }[] = [];
  const built: { stage: Stage; source: string; target: string }[] = [];
  const installed: string[] = [];
  for (const copy of instructionsOf(runtime, "COPY")) {
    const from = flagOf(copy, "from");
    for (const { source, target } of copyTargets(runtime, copy)) {
      const relativeTarget = posix.relative(runtime.workdir, target);
      if (!from) {
        context.push({ source, target: relativeTarget });
        continue;
      }
      const stage = stageNamed(from);
      const origin = contextSourceOf(stage, source);
      if (origin) context.push({ source: origin, target: relativeTarget });
      else if (from === "prod-deps") installed.push(relativeTarget);
      else
        built.push({
          stage,
          source: posix.relative(stage.workdir, source),
          target: relativeTarget,
        });
    }
  }
  return { context, built, installed };
}

/** `.dockerignore` entries that would keep `path` out of the build context (plain and `**\/x` forms). */
function ignoredBy(path: string): string[] {
  return repoFile(".dockerignore")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#") && !line.startsWith("!"))
    .filter((pattern) => {
      const plain = pattern.replace(/^\*\*\//, "").replace(/\/$/, "");
      const parts = path.split("/");
      return pattern.startsWith("**/")
        ? parts.includes(plain)
        : path === plain || path.startsWith(`${plain}/`);
    });
}

describe("Dockerfile", () => {
  it("has nothing that dockerfile-utils (the Docker language server's linter) reports", () => {
    const diagnostics = validate(dockerfileText).map(
      (d) => `line ${d.range.start.line + 1}: ${d.message}`,
    );
    expect(diagnostics).toEqual([]);
  });

  it("builds every stage on Node 22 slim, and the runtime stage installs only production dependencies", () => {
    for (const stage of stages) expect(stage.image).toMatch(/^node:22(-[a-z]+)*-(slim|alpine)/);
    const nodeModules = instructionsOf(runtime, "COPY").find((copy) =>
      argsOf(copy).some((arg) => arg.endsWith("/node_modules")),
    )!;
    const installs = instructionsOf(stageNamed(flagOf(nodeModules, "from")!), "RUN").map((run) =>
      run.getArgumentsContent(),
    );
    expect(installs).toEqual(["npm ci --omit=dev --ignore-scripts"]);
  });

  it("runs as uid 10001 under tini, exposes 3000 and 3030, and keeps its data under /tmp", () => {
    expect(argsOf(instructionsOf(runtime, "USER").pop()!)).toEqual(["10001:10001"]);
    expect(execForm(instructionsOf(runtime, "ENTRYPOINT").pop()!)).toEqual(["/usr/bin/tini", "--"]);
    expect(
      instructionsOf(runtime, "RUN")
        .map((run) => run.getArgumentsContent())
        .join(" "),
    ).toMatch(/apt-get install [^&]*\btini\b/);
    expect(argsOf(instructionsOf(runtime, "EXPOSE").pop()!)).toEqual(["3000", "3030"]);
    const env = imageEnvironment();
    expect(env.DATA_DIR).toMatch(/^\/tmp\//);
    const healthcheck = instructionsOf(runtime, "HEALTHCHECK").pop()!.getArgumentsContent();
    expect(healthcheck).toMatch(/^CMD \[.*\/health\/live/);
  });

  it("copies from the build context only files the .dockerignore lets through", () => {
    const copied = stages.flatMap((stage) =>
      instructionsOf(stage, "COPY")
        .filter((copy) => !flagOf(copy, "from"))
        .flatMap((copy) => copyTargets(stage, copy).map(({ source }) => source)),
    );
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      expect({
        source,
        exists: existsSync(join(ROOT, source)),
        ignoredBy: ignoredBy(source),
      }).toEqual({
        source,
        exists: true,
        ignoredBy: [],
      });
    }
  });
});

describe("the image's command on production dependencies only", () => {
  let appDir: string;
  let child: ChildProcess | null = null;
  let output = "";
  let exited: Promise<number | null>;
  let env: Record<string, string>;
  let port: number;
  let metricsPort: number;
  let runAs: { uid: number; gid: number } | undefined;

  beforeAll(async () => {
    appDir = mkdtempSync(join(tmpdir(), "campus-image-"));
    chmodSync(appDir, 0o755);

    // The prod-deps stage, as written: its context files, then its RUN commands.
    const prodDeps = stages.find((stage) => stage.name === "prod-deps")!;
    for (const copy of instructionsOf(prodDeps, "COPY")) {
      for (const { source, target } of copyTargets(prodDeps, copy)) {
        cpSync(join(ROOT, source), join(appDir, posix.relative(prodDeps.workdir, target)));
      }
    }
    for (const run of instructionsOf(prodDeps, "RUN")) {
      const result = await runCommand("sh", ["-c", run.getArgumentsContent()!], {
        cwd: appDir,
        timeoutMs: 300000,
      });
      if (result.code !== 0)
        throw new Error(`${run.getArgumentsContent()} failed:\n${result.stderr}`);
    }

    // The runtime stage's files: what it copies from the context (through the build stage).
    const { context, built, installed } = runtimeFiles();
    for (const { source, target } of context) {
      cpSync(join(ROOT, source), join(appDir, target), { recursive: true });
    }
    // What the build stage's RUN commands make (dist/), made here the same way: the build
    // stage's context is the repository's own layout.
    for (const stage of new Set(built.map(({ stage }) => stage))) {
      for (const run of instructionsOf(stage, "RUN").filter(
        (r) => !/\bnpm ci\b/.test(r.getArgumentsContent()!),
      )) {
        const result = await runCommand("sh", ["-c", run.getArgumentsContent()!], {
          cwd: ROOT,
          timeoutMs: 300000,
        });
        if (result.code !== 0)
          throw new Error(`${run.getArgumentsContent()} failed:\n${result.stdout}${result.stderr}`);
      }
    }
    for (const { source, target } of built) {
      cpSync(join(ROOT, source), join(appDir, target), { recursive: true });
    }
    for (const path of installed) {
      if (!existsSync(join(appDir, path))) throw new Error(`${path} was not made by prod-deps`);
    }

    // As root (CI): the image's user, on files root owns, as in the image. Otherwise the app
    // folder itself is made read-only.
    const [uid, gid] = argsOf(instructionsOf(runtime, "USER").pop()!)[0].split(":").map(Number);
    if (process.getuid?.() === 0) runAs = { uid, gid };
    else chmodSync(appDir, 0o555);

    [port, metricsPort] = [await freePort(), await freePort()];
    env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: "/nonexistent",
      ...imageEnvironment(),
      SERVICES: ALL_SERVICES.join(","),
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATA_DIR: ":memory:",
      // NODE_ENV=production (from the image) requires these three.
      JWT_SECRET: "image-test-secret-that-is-long-enough-0123456789",
      ADMIN_EMAIL: "admin@image.test",
      ADMIN_PASSWORD: "image-test-admin-password",
      LOG_LEVEL: "warn",
    };
    const command = execForm(instructionsOf(runtime, "CMD").pop()!);
    child = spawn(command[0], command.slice(1), {
      cwd: appDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      ...runAs,
    });
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    exited = new Promise((done) => child!.once("exit", (code) => done(code)));
  }, 420000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    if (appDir) {
      chmodSync(appDir, 0o755);
      rmSync(appDir, { recursive: true, force: true });
    }
  });

  it("the installed tree holds only production dependencies", () => {
    // No TypeScript at run time: the image runs the compiled dist/.
    expect(existsSync(join(appDir, "node_modules", "tsx"))).toBe(false);
    expect(existsSync(join(appDir, "dist", "server.js"))).toBe(true);
    expect(existsSync(join(appDir, "node_modules", "jest"))).toBe(false);
    expect(existsSync(join(appDir, "node_modules", "typescript"))).toBe(false);
    expect(existsSync(join(appDir, "test"))).toBe(false);
  });

  it("answers 200 on /health/ready with every service in one process", async () => {
    const ready = eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (response.status !== 200)
        throw new Error(`ready ${response.status}: ${await response.text()}`);
    }, 90000);
    const died = exited.then((code) => {
      throw new Error(`the process exited (${code}) before it was ready:\n${output}`);
    });
    await Promise.race([ready, died]);
  }, 120000);

  it("passes the image's HEALTHCHECK command", async () => {
    const healthcheck = instructionsOf(runtime, "HEALTHCHECK").pop() as Healthcheck;
    const content = healthcheck.getArgumentsContent()!;
    expect(content.startsWith("CMD ")).toBe(true);
    const [file, ...args] = JSON.parse(content.slice(4)) as string[];
    const result = await runCommand(file, args, { cwd: appDir, env, ...runAs });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  });

  it("serves Prometheus metrics on METRICS_PORT", async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("moleculer_");
  });

  it("stops on SIGTERM with exit code 0 within the shutdown timeout", async () => {
    child!.kill("SIGTERM");
    const code = await Promise.race([
      exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no exit:\n${output}`)), 15000)),
    ]);
    expect(code).toBe(0);
  }, 20000);
});
