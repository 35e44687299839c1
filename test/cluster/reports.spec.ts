/**
 * Report workers on two nodes over NATS JetStream and the machine's PostgreSQL: the node making a
 * report is SIGKILLed mid-report; the other takes the job once the dead worker's lease expired
 * and makes it — once: one success event, one notification, one file.
 *
 * The job is slowed with the test-only REPORTS_ROW_DELAY_MS (a pause per table row), so that it
 * is surely running when the kill comes; the lease is short (REPORTS_LEASE_SECONDS) so the test
 * does not wait a production minute.
 */
import { Client } from "pg";
import { PDFParse } from "pdf-parse";
import { Cluster, eventually, http, login } from "./harness";

jest.setTimeout(300000);

const STUDENTS = 30;
const REPORTS_ENV = {
  REPORTS_ROW_DELAY_MS: "150",
  REPORTS_LEASE_SECONDS: "3",
  REPORTS_SWEEP_SECONDS: "1",
};

const cluster = new Cluster();
let admin: string;
let base: string;
let courseId: string;
let db: Client;

interface JobRow {
  status: string;
  worker: string | null;
  attempt: number;
  progress: number;
}

async function job(id: string): Promise<JobRow> {
  const result = await db.query<JobRow>(
    "SELECT status, worker, attempt, progress FROM reports.jobs WHERE id = $1",
    [id],
  );
  return result.rows[0];
}

beforeAll(async () => {
  await cluster.createDatabases();
  const nodes = await Promise.all([
    cluster.start("core", "users,students,courses,notifications,schedule,assignments,gradebook"),
    cluster.start("reports-1", "reports", REPORTS_ENV),
    cluster.start("reports-2", "reports", REPORTS_ENV),
    cluster.start("api", "api"),
  ]);
  await Promise.all(nodes.map((node) => cluster.ready(node)));
  base = cluster.gateway("api");
  admin = await login(base);
  db = new Client({
    connectionString: `postgres://postgres@127.0.0.1:5432/campus_${cluster.runId}_reports`,
  });
  await db.connect();

  const course = await http(base, "POST", "/api/courses", admin, {
    code: `REP-${cluster.runId}`,
    title: "Killed mid-report",
  });
  expect(course.status).toBe(201);
  courseId = course.body.id;
  for (let i = 0; i < STUDENTS; i += 1) {
    const student = await http(base, "POST", "/api/students", admin, {
      firstName: `Student${i}`,
      lastName: `Cluster${String(i).padStart(2, "0")}`,
      email: `s${i}.${cluster.runId}@cluster.test`,
    });
    expect(student.status).toBe(201);
    const enrolled = await http(base, "POST", `/api/courses/${courseId}/students`, admin, {
      studentId: student.body.id,
    });
    expect(enrolled.status).toBe(201);
  }
});

afterAll(async () => {
  await db?.end();
  await cluster.stopAll();
  await cluster.deleteStreams();
  await cluster.dropDatabases();
});

it("a reports node SIGKILLed mid-report: the other node finishes the report, once", async () => {
  const requested = await http(base, "POST", "/api/reports", admin, {
    type: "course_performance",
    format: "pdf",
    courseId,
  });
  expect(requested.status).toBe(202);
  const id = requested.body.id as string;

  // Running, past the gathering, on one of the two nodes.
  const running = await eventually(
    async () => {
      const row = await job(id);
      if (row.status !== "running" || row.progress <= 10) {
        throw new Error(`not mid-report yet: ${JSON.stringify(row)}`);
      }
      return row;
    },
    30000,
    100,
  );
  const victim = running.worker!.startsWith("reports-1") ? "reports-1" : "reports-2";
  const survivor = victim === "reports-1" ? "reports-2" : "reports-1";
  expect(await cluster.stop(victim, "SIGKILL")).toBeNull();

  const done = await eventually(
    async () => {
      const report = await http(base, "GET", `/api/reports/${id}`, admin);
      if (report.body.status !== "succeeded") {
        throw new Error(`report ${JSON.stringify(report.body)}`);
      }
      return report.body;
    },
    60000,
    250,
  );
  const row = await job(id);
  expect(row).toMatchObject({ status: "succeeded", attempt: 2, progress: 100 });
  expect(row.worker).toBe(`${survivor}-${cluster.runId}`);

  // Made once: one success event, one notification, one whole file.
  const succeeded = (await cluster.streamMessages("report_succeeded")).filter(
    (e) => e.reportId === id,
  );
  expect(succeeded).toHaveLength(1);
  const notices = await eventually(async () => {
    const page = await http(base, "GET", "/api/notifications?pageSize=100", admin);
    const mine = page.body.rows.filter(
      (n: { type: string; data: { reportId?: string } }) =>
        n.type === "report_ready" && n.data.reportId === id,
    );
    if (mine.length === 0) throw new Error("no notification yet");
    return mine;
  }, 20000);
  expect(notices).toHaveLength(1);

  const file = await fetch(`${base}/api/reports/${id}/download`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(file.status).toBe(200);
  const bytes = new Uint8Array(await file.arrayBuffer());
  expect(bytes.length).toBe(done.size);
  const parser = new PDFParse({ data: bytes });
  const { text } = await parser.getText();
  await parser.destroy();
  expect(text).toContain(`Course performance: REP-${cluster.runId}`);
  for (const i of [0, STUDENTS - 1]) {
    expect(text).toContain(`Cluster${String(i).padStart(2, "0")}, Student${i}`);
  }
});
