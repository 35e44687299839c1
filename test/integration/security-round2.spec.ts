/**
 * Regression tests for the second hostile probe (issue 20, docs/SECURITY.md "Security round 2"),
 * over the real gateway: each test fails on the code the probe found.
 */
import { startCampus, uniqueEmail, type Campus } from "../helpers/campus";

let campus: Campus;
let admin: string;
let counter = 0;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
});
afterAll(() => campus.stop());

async function createStudent(): Promise<string> {
  const result = await campus.request("POST", "/api/students", {
    token: admin,
    body: { firstName: "Round", lastName: "Two", email: uniqueEmail("round2") },
  });
  expect(result.status).toBe(201);
  return result.body.id as string;
}

async function createCourse(): Promise<string> {
  counter += 1;
  const result = await campus.request("POST", "/api/courses", {
    token: admin,
    body: { code: `SEC2-${process.pid}-${counter}`, title: "Round two", capacity: 3 },
  });
  expect(result.status).toBe(201);
  return result.body.id as string;
}

describe("finding 1: ids in capitals", () => {
  it("answers 404 to a GET with the upper-case id of a student just deleted (after a cached read)", async () => {
    const id = await createStudent();
    expect((await campus.request("GET", `/api/students/${id}`, { token: admin })).status).toBe(200);
    const upper = id.toUpperCase();
    const cachedUpper = await campus.request("GET", `/api/students/${upper}`, { token: admin });
    expect(cachedUpper.status).toBe(200);
    expect(cachedUpper.body.id).toBe(id);

    expect((await campus.request("DELETE", `/api/students/${id}`, { token: admin })).status).toBe(
      204,
    );

    expect((await campus.request("GET", `/api/students/${upper}`, { token: admin })).status).toBe(
      404,
    );
  });

  it("answers 404 to an enrollment of a deleted student named in capitals, and takes no seat", async () => {
    const studentId = await createStudent();
    const courseId = await createCourse();
    // Read in both forms first, as the probe did, so a case-sensitive cache would hold both.
    await campus.request("GET", `/api/students/${studentId}`, { token: admin });
    await campus.request("GET", `/api/students/${studentId.toUpperCase()}`, { token: admin });
    await campus.request("DELETE", `/api/students/${studentId}`, { token: admin });

    const enroll = await campus.request("POST", `/api/courses/${courseId.toUpperCase()}/students`, {
      token: admin,
      body: { studentId: studentId.toUpperCase() },
    });

    expect(enroll.status).toBe(404);
    const course = await campus.request("GET", `/api/courses/${courseId}`, { token: admin });
    expect(course.body.enrolledCount).toBe(0);
    const roster = await campus.request("GET", `/api/courses/${courseId}/students`, {
      token: admin,
    });
    expect(roster.body).toMatchObject({ rows: [], total: 0 });
  });

  it("answers 404 to the upper-case id of a deleted course", async () => {
    const id = await createCourse();
    await campus.request("GET", `/api/courses/${id.toUpperCase()}`, { token: admin });
    await campus.request("DELETE", `/api/courses/${id}`, { token: admin });

    expect(
      (await campus.request("GET", `/api/courses/${id.toUpperCase()}`, { token: admin })).status,
    ).toBe(404);
  });

  it("returns ids in lower case whatever case the request used", async () => {
    const studentId = await createStudent();
    const courseId = await createCourse();

    const enroll = await campus.request("POST", `/api/courses/${courseId.toUpperCase()}/students`, {
      token: admin,
      body: { studentId: studentId.toUpperCase() },
    });

    expect(enroll.status).toBe(201);
    expect(enroll.body).toMatchObject({ courseId, studentId });
  });
});
