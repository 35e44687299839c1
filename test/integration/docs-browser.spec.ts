/**
 * /docs in a real browser: the machine's Chromium (Debian's package; `.ci/browser.sh` installs it)
 * driven by playwright-core. The page renders the document, lists the endpoints, runs a "Try it
 * out" request against this gateway, loads nothing from any other origin and breaks no rule of
 * its Content-Security-Policy; a script of the page receives a live notification over `/ws`.
 */
import { existsSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { registerStudent, startCampus, type Campus } from "../helpers/campus";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const STEP_TIMEOUT_MS = 15000;

let campus: Campus;
let context: BrowserContext;
let page: Page;
let profile: string;
const foreignRequests: string[] = [];
const cspViolations: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: run .ci/browser.sh (or set CHROMIUM_PATH)`);
  }
  campus = await startCampus();
  profile = mkdtempSync(join(tmpdir(), "campus-docs-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(campus.baseUrl) && !url.startsWith("data:")) foreignRequests.push(url);
  });
  page.on("console", (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (profile) rmSync(profile, { recursive: true, force: true });
  await campus?.stop();
});

it("renders the document and lists the students and courses endpoints", async () => {
  const response = await page.goto(`${campus.baseUrl}/docs`, { waitUntil: "load" });
  expect(response?.status()).toBe(200);
  await page.locator(".swagger-ui .info .title").filter({ hasText: "Campus API" }).waitFor();

  for (const path of [
    "/api/students",
    "/api/students/{id}",
    "/api/courses",
    "/api/courses/{id}/students",
  ]) {
    await page.locator(`.opblock-summary-path[data-path="${path}"]`).first().waitFor();
  }
  const paths = await page
    .locator(".opblock-summary-path")
    .evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-path")));
  expect(paths).toEqual(expect.arrayContaining(["/api/auth/login", "/health/live"]));
});

it('runs a "Try it out" login and shows the answer in the page', async () => {
  // The login example's account.
  const login = await campus.request("GET", "/openapi.json");
  const example =
    login.body.paths["/api/auth/register"].post.requestBody.content["application/json"].example;
  const registered = await campus.request("POST", "/api/auth/register", { body: example });
  expect(registered.status).toBe(201);

  const operation = page.locator(".opblock-post", {
    has: page.locator('.opblock-summary-path[data-path="/api/auth/login"]'),
  });
  await operation.locator(".opblock-summary-control").click();
  await operation.locator("button.try-out__btn").click();
  await operation.locator("button.execute").click();

  const live = operation.locator(".live-responses-table");
  await live.locator("td.response-col_status").filter({ hasText: "200" }).waitFor();
  const body = await live
    .locator(
      "td.response-col_description .response-col_description__inner, td.response-col_description",
    )
    .last()
    .innerText();
  expect(body).toContain("accessToken");
  expect(body).toContain(example.email);
});

it("receives a live notification over /ws in the page, within its CSP", async () => {
  // A front end on this origin: the browser's own WebSocket, under the page's connect-src 'self'.
  const student = await registerStudent(campus);
  const admin = await campus.adminToken();
  const messages = page.evaluate(
    ({ url, token }) =>
      new Promise<unknown[]>((resolve, reject) => {
        const seen: unknown[] = [];
        const ws = new WebSocket(url);
        const timer = setTimeout(
          () => reject(new Error(`no push; saw ${JSON.stringify(seen)}`)),
          10000,
        );
        ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token }));
        ws.onerror = () => reject(new Error("WebSocket error"));
        ws.onmessage = (event) => {
          const message = JSON.parse(String(event.data));
          seen.push(message);
          if (message.type === "authenticated")
            (globalThis as unknown as { liveReady: boolean }).liveReady = true;
          if (message.type === "notification" && message.notification.type === "enrolled") {
            clearTimeout(timer);
            ws.close(1000);
            resolve(seen);
          }
        };
      }),
    { url: `${campus.baseUrl.replace(/^http/, "ws")}/ws`, token: student.token },
  );
  await page.waitForFunction(
    () => (globalThis as unknown as { liveReady?: boolean }).liveReady === true,
  );
  const course = await campus.request("POST", "/api/courses", {
    token: admin,
    body: { code: `LIVEB-${process.pid}-${Date.now()}`.slice(0, 20), title: "Live in a browser" },
  });
  expect(course.status).toBe(201);
  const enrolled = await campus.request("POST", `/api/courses/${course.body.id}/students`, {
    token: admin,
    body: { studentId: student.studentId },
  });
  expect(enrolled.status).toBe(201);

  const seen = (await messages) as { type: string; notification?: { data: unknown } }[];
  expect(seen[0]).toEqual({ type: "authenticated", userId: student.userId });
  expect(seen.find((m) => m.type === "notification" && m.notification)?.notification).toMatchObject(
    {
      data: { courseId: course.body.id },
    },
  );
});

it("loads nothing from another origin and breaks no rule of its CSP", () => {
  expect(foreignRequests).toEqual([]);
  expect(cspViolations).toEqual([]);
  expect(pageErrors).toEqual([]);
});
