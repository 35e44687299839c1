/**
 * The GitHub Actions workflow without GitHub: parsed and converted by @actions/workflow-parser
 * (GitHub's own workflow schema and expression parser), then checked against .ci/run and
 * .ci/services.sh so the two CIs run the same steps against the same servers.
 */
import { parseDocument } from "yaml";
import { repoFile, runCommand } from "../helpers/delivery";

type Json = any;

const WORKFLOW = ".github/workflows/ci.yml";

// @actions/workflow-parser is an ES module that imports JSON without import attributes, which
// Node refuses and tsx's loader accepts: it runs in a child process under tsx.
const PARSE_WORKFLOW = `
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
let content = "";
for await (const chunk of process.stdin) content += chunk;
const parsed = parseWorkflow({ name: "ci.yml", content }, new NoOperationTraceWriter());
const errors = parsed.context.errors.getErrors().map((e) => e.message);
if (parsed.value) {
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  for (const e of template.errors ?? []) if (!errors.includes(e.Message)) errors.push(e.Message);
}
process.stdout.write(JSON.stringify(errors));
`;

const workflow: Json = parseDocument(repoFile(WORKFLOW)).toJS();
const steps = (job: string): Json[] => workflow.jobs[job].steps;
const runs = (job: string): string[] => steps(job).flatMap((step) => (step.run ? [step.run] : []));

describe(".github/workflows/ci.yml", () => {
  it("has no error that @actions/workflow-parser reports", async () => {
    const result = await runCommand(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", PARSE_WORKFLOW],
      { input: repoFile(WORKFLOW), timeoutMs: 30000 },
    );
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual([]);
  });

  it("runs the npm commands of .ci/run, in the same order, on Node 22", () => {
    const ciRun = repoFile(".ci/run")
      .split("\n")
      .map((line) => line.trim().replace(/^step /, ""))
      .filter((line) => line.startsWith("npm ") && !line.includes("--silent"));
    const workflowRuns = runs("test").filter((run) => run.startsWith("npm "));
    expect(workflowRuns.map((run) => run.replace(/ --if-present$/, ""))).toEqual(ciRun);
    const setupNode = steps("test").find((step) => step.uses?.startsWith("actions/setup-node@"));
    expect(String(setupNode.with["node-version"])).toBe("22");
  });

  it("gives the tests PostgreSQL, Redis and NATS with JetStream on the ports .ci/services.sh uses", () => {
    const ports = [...repoFile(".ci/services.sh").matchAll(/port_open (\d+)/g)].map((m) => m[1]);
    const { services } = workflow.jobs.test;
    expect(services.postgres.image).toMatch(/^postgres:16/);
    expect(services.redis.image).toMatch(/^redis:7/);
    const nats = runs("test").find((run) => run.includes("nats:"))!;
    expect(nats).toMatch(/docker run .*nats:[\w.-]+ -js\b/);
    const published = [
      ...services.postgres.ports,
      ...services.redis.ports,
      ...[...nats.matchAll(/-p (\d+:\d+)/g)].map((m) => m[1]),
    ].map((mapping: string) => mapping.split(":")[0]);
    for (const port of new Set(ports)) expect(published).toContain(port);
  });

  it("builds the image with buildx after the tests, and scans that image with Trivy", () => {
    expect(workflow.jobs.image.needs).toBe("test");
    const build = steps("image").find((step) => step.uses?.startsWith("docker/build-push-action@"));
    expect(steps("image").some((s) => s.uses?.startsWith("docker/setup-buildx-action@"))).toBe(
      true,
    );
    expect(build.with).toEqual(expect.objectContaining({ context: ".", load: true }));
    const scan = steps("image").find((step) => step.uses?.startsWith("aquasecurity/trivy-action@"));
    expect(scan.with["image-ref"]).toBe(build.with.tags);
    expect(scan.with["exit-code"]).toBe("1");
  });

  it("starts the built image with a read-only root filesystem and expects it ready, then exit code 0", () => {
    const smoke = runs("image").find((run) => run.includes("--read-only"))!;
    expect(smoke).toContain(
      `${steps("image").find((s) => s.uses?.startsWith("docker/build-push-action@")).with.tags}`,
    );
    expect(smoke).toContain("/health/ready");
    expect(smoke).toMatch(/State\.ExitCode.*= 0/);
  });
});
