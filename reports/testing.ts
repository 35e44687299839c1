/**
 * docs/reports/testing.md: runs the unit and integration suites with coverage and the cluster
 * suite, each through Jest's JSON output, and reports every suite and the coverage per folder.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, relative } from "path";
import { log, ROOT, round, run, stamp, table, writeReport } from "./common";

interface AssertionResult {
  status: string;
  title: string;
  fullName: string;
  failureMessages: string[];
}
interface SuiteResult {
  name: string;
  status: string;
  startTime: number;
  endTime: number;
  message: string;
  assertionResults: AssertionResult[];
}
interface JestJson {
  success: boolean;
  startTime: number;
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: SuiteResult[];
}
type Totals = { total: number; covered: number };
type FileCoverage = Record<"lines" | "statements" | "functions" | "branches", Totals>;

const JEST = ["--experimental-vm-modules", join(ROOT, "node_modules/jest/bin/jest.js")];

async function jest(
  args: string[],
  output: string,
): Promise<{ code: number; json: JestJson | null }> {
  const code = await run(process.execPath, [...JEST, ...args, "--json", `--outputFile=${output}`]);
  const json = existsSync(output) ? (JSON.parse(readFileSync(output, "utf8")) as JestJson) : null;
  return { code, json };
}

function project(path: string): string {
  return relative(ROOT, path).split("/")[1] ?? "?";
}

function suiteRows(json: JestJson) {
  return json.testResults
    .map((suite) => {
      const count = (status: string) =>
        suite.assertionResults.filter((a) => a.status === status).length;
      return {
        project: project(suite.name),
        file: relative(ROOT, suite.name),
        tests: suite.assertionResults.length,
        passed: count("passed"),
        failed:
          count("failed") +
          (suite.status === "failed" && suite.assertionResults.length === 0 ? 1 : 0),
        skipped: count("pending") + count("skipped") + count("todo"),
        seconds: (suite.endTime - suite.startTime) / 1000,
        suite,
      };
    })
    .sort((a, b) => a.project.localeCompare(b.project) || a.file.localeCompare(b.file));
}

function coverageByFolder(): string {
  const path = join(ROOT, "coverage/coverage-summary.json");
  if (!existsSync(path))
    return "_No coverage summary was written (coverage/coverage-summary.json)._";
  const summary = JSON.parse(readFileSync(path, "utf8")) as Record<string, FileCoverage>;
  const folders = new Map<string, FileCoverage>();
  const empty = (): FileCoverage => ({
    lines: { total: 0, covered: 0 },
    statements: { total: 0, covered: 0 },
    functions: { total: 0, covered: 0 },
    branches: { total: 0, covered: 0 },
  });
  for (const [file, coverage] of Object.entries(summary)) {
    if (file === "total") continue;
    const folder = relative(ROOT, file).split("/")[0];
    const sum = folders.get(folder) ?? empty();
    for (const key of Object.keys(sum) as (keyof FileCoverage)[]) {
      sum[key].total += coverage[key].total;
      sum[key].covered += coverage[key].covered;
    }
    folders.set(folder, sum);
  }
  const pct = (t: Totals) => (t.total === 0 ? "–" : `${round((100 * t.covered) / t.total)} %`);
  const rows = [...folders.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([folder, c]) => [
      `\`${folder}/\``,
      pct(c.lines),
      pct(c.statements),
      pct(c.functions),
      pct(c.branches),
      `${c.lines.covered} / ${c.lines.total}`,
    ]);
  const total = summary.total;
  rows.push([
    "**all**",
    pct(total.lines),
    pct(total.statements),
    pct(total.functions),
    pct(total.branches),
    `${total.lines.covered} / ${total.lines.total}`,
  ]);
  return table(["folder", "lines", "statements", "functions", "branches", "lines covered"], rows);
}

function failures(rows: ReturnType<typeof suiteRows>): string {
  const failed = rows.flatMap((row) => [
    ...row.suite.assertionResults
      .filter((a) => a.status === "failed")
      .map(
        (a) =>
          `- \`${row.file}\` — ${a.fullName}\n\n  \`\`\`\n  ${(a.failureMessages[0] ?? "").split("\n").slice(0, 6).join("\n  ")}\n  \`\`\``,
      ),
    ...(row.suite.status === "failed" && row.suite.assertionResults.length === 0
      ? [
          `- \`${row.file}\` did not run:\n\n  \`\`\`\n  ${row.suite.message.split("\n").slice(0, 6).join("\n  ")}\n  \`\`\``,
        ]
      : []),
  ]);
  return failed.length === 0 ? "None." : failed.join("\n");
}

/** Writes testing.md; resolves false when a test failed (the report is written anyway). */
export async function testingReport(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), "campus-reports-jest-"));
  try {
    log("unit and integration suites, with coverage");
    const fast = await jest(
      ["--selectProjects", "unit", "integration", "--coverage", "--forceExit"],
      join(dir, "unit-integration.json"),
    );
    log("cluster suite");
    const cluster = await jest(
      ["--selectProjects", "cluster", "--runInBand", "--forceExit"],
      join(dir, "cluster.json"),
    );
    const runs = [
      { name: "unit + integration", command: "npm test", ...fast },
      { name: "cluster", command: "npm run test:cluster", ...cluster },
    ];
    const rows = runs.flatMap((r) => (r.json ? suiteRows(r.json) : []));
    const summary = table(
      ["run", "equivalent command", "suites", "tests", "passed", "failed", "skipped", "wall time"],
      runs.map((r) => [
        r.name,
        `\`${r.command}\``,
        r.json?.testResults.length ?? "did not run",
        r.json?.numTotalTests ?? "–",
        r.json?.numPassedTests ?? "–",
        r.json?.numFailedTests ?? "–",
        r.json?.numPendingTests ?? "–",
        r.json
          ? `${round(
              (Math.max(...r.json.testResults.map((s) => s.endTime)) - r.json.startTime) / 1000,
              0,
            )} s`
          : "–",
      ]),
    );
    const perProject = ["unit", "integration", "cluster"].map((name) => {
      const own = rows.filter((row) => row.project === name);
      return [
        `### ${name}`,
        "",
        table(
          ["suite", "tests", "passed", "failed", "skipped", "time"],
          own.map((row) => [
            `\`${row.file}\``,
            row.tests,
            row.passed,
            row.failed,
            row.skipped,
            `${round(row.seconds)} s`,
          ]),
        ),
        "",
      ].join("\n");
    });
    const ok = runs.every((r) => r.json?.success && r.code === 0);
    writeReport(
      "testing.md",
      [
        stamp("Test report", "testing"),
        "Jest's JSON results of `npm test` (projects `unit` and `integration`, with coverage) and",
        "`npm run test:cluster` (project `cluster`: node processes over NATS, PostgreSQL, Redis,",
        "with a real Prometheus), run one after the other on this machine.",
        "",
        "## Summary",
        "",
        summary,
        "",
        `Result: **${ok ? "every test passed" : "some tests failed"}**.`,
        "",
        "## Suites",
        "",
        ...perProject,
        "## Failures",
        "",
        failures(rows),
        "",
        "## Coverage per folder (unit + integration)",
        "",
        "Istanbul's summary (`coverage/coverage-summary.json`) summed per top-level folder of the",
        "code under test (`collectCoverageFrom` in `jest.config.js`). The cluster suite runs the",
        "code in child processes, which coverage does not see.",
        "",
        coverageByFolder(),
      ].join("\n"),
    );
    return ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
