/**
 * `npm run reports`: runs the test suites and two small clusters on this machine and writes
 * docs/reports/{testing,caching,logs,monitoring,interaction}.md, each stamped with the date, the
 * machine, the git commit and this command. `npm run reports -- caching observed` runs only those
 * sections (testing, caching, observed = logs + monitoring + interaction).
 */
import { cachingReport } from "./caching";
import { log, REPORT_DIR } from "./common";
import { observedReports } from "./observed";
import { testingReport } from "./testing";

const SECTIONS = ["testing", "caching", "observed"] as const;

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown section(s) ${unknown.join(", ")}; known: ${SECTIONS.join(", ")}`);
  }
  const chosen = asked.length > 0 ? asked : [...SECTIONS];
  let ok = true;
  // The clusters first: the test suites would otherwise leave the machine warm and busy.
  if (chosen.includes("caching")) await cachingReport();
  if (chosen.includes("observed")) await observedReports();
  if (chosen.includes("testing")) ok = await testingReport();
  log(`written to ${REPORT_DIR}`);
  if (!ok) {
    log("some tests failed: see testing.md");
    process.exitCode = 1;
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
