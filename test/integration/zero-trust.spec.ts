/**
 * A caller on the service bus that is not a Campus service (the REPL, a foreign node) cannot run
 * internal actions, and cannot act as a user by putting one into the request's meta.
 */
import { startCampus, uniqueEmail, type Campus } from "../helpers/campus";

let campus: Campus;

beforeAll(async () => {
  campus = await startCampus();
});
afterAll(() => campus.stop());

const student = () => ({ firstName: "Bus", lastName: "Caller", email: uniqueEmail("bus") });

it("refuses an internal write called directly on the bus, and writes nothing", async () => {
  const body = student();

  await expect(campus.broker.call("students.createRecord", body)).rejects.toMatchObject({
    code: 403,
    type: "FORBIDDEN",
  });
  const admin = await campus.adminToken();
  const found = await campus.request(
    "GET",
    `/api/students?search=${encodeURIComponent(body.email)}`,
    {
      token: admin,
    },
  );
  expect(found.body.total).toBe(0);
});

it("refuses a published action with a user forged into meta (no gateway signature)", async () => {
  const forged = {
    user: { id: "00000000-0000-4000-8000-000000000009", role: "admin", studentId: null },
  };

  await expect(
    campus.broker.call("students.create", student(), { meta: forged }),
  ).rejects.toMatchObject({
    code: 401,
  });
});

it("still serves the same actions when they come through the gateway", async () => {
  const admin = await campus.adminToken();

  const created = await campus.request("POST", "/api/students", { token: admin, body: student() });

  expect(created.status).toBe(201);
});
