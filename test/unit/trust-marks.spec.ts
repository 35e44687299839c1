/**
 * In one process a service call and the gateway's identity travel as symbol marks; a request to
 * another node carries signatures made at the moment it leaves (transitPublish). Two brokers on
 * Moleculer's in-memory Fake transporter stand for two nodes.
 */
import { ServiceBroker, type Context } from "moleculer";
import {
  createPermissionsMiddleware,
  IDENTITY_SIGNATURE_META,
  SERVICE_CALL_META,
  VOUCHED_IDENTITY,
} from "../../middlewares/permissions.middleware";
import { trustKeys } from "../../lib/service-trust";

const keys = trustKeys("a-cluster-secret-long-enough-for-the-tests");
const admin = { id: "7d2f0b7e-1c3a-4f7e-9d55-3c1b2a4e5f60", role: "admin", studentId: null };

function node(nodeID: string, namespace: string) {
  return new ServiceBroker({
    nodeID,
    namespace,
    transporter: "Fake",
    logger: false,
    middlewares: [createPermissionsMiddleware(keys)],
  });
}

let a: ServiceBroker;
let b: ServiceBroker;
const seen: Record<string, unknown>[] = [];

beforeAll(async () => {
  const namespace = `trust-${process.pid}-${Date.now()}`;
  a = node("a", namespace);
  b = node("b", namespace);
  b.createService({
    name: "inner",
    actions: {
      secret: {
        visibility: "public",
        handler(ctx: Context) {
          seen.push({ ...(ctx.meta as Record<string, unknown>) });
          return "inner answer";
        },
      },
      whoami: {
        permissions: ["admin"],
        handler(ctx: Context<unknown, { user: { id: string } }>) {
          return ctx.meta.user.id;
        },
      },
    },
  } as never);
  a.createService({
    name: "outer",
    actions: {
      local: { visibility: "public", handler: () => "local answer" },
      viaService(ctx: Context) {
        return ctx.call("inner.secret");
      },
      localViaService(ctx: Context) {
        return ctx.call("outer.local");
      },
      async whoamiTwiceAsGateway(ctx: Context<unknown, Record<string | symbol, unknown>>) {
        // A remote answer's meta is merged into the caller's: `meta.user` becomes an equal copy.
        // The second call (a retry does the same) must still carry the identity.
        const meta = { user: admin, [VOUCHED_IDENTITY]: admin };
        await ctx.call("inner.whoami", {}, { meta });
        meta.user = { ...admin };
        return ctx.call("inner.whoami", {}, { meta });
      },
      whoamiAsOther(ctx: Context<unknown, Record<string | symbol, unknown>>) {
        // Code that puts another user in meta after the gateway vouched: not signed.
        const other = { ...admin, id: "0b7e7d2f-1c3a-4f7e-9d55-3c1b2a4e5f60" };
        return ctx.call("inner.whoami", {}, { meta: { user: other, [VOUCHED_IDENTITY]: admin } });
      },
      whoamiAsGateway(ctx: Context<unknown, Record<string | symbol, unknown>>) {
        // What the gateway's authenticate does: the identity, vouched for in this process.
        return ctx.call("inner.whoami", {}, { meta: { user: admin, [VOUCHED_IDENTITY]: admin } });
      },
    },
  } as never);
  await Promise.all([a.start(), b.start()]);
  await a.waitForServices(["inner"]);
});
afterAll(() => Promise.all([a.stop(), b.stop()]));

it("signs a service call when it leaves the process, with a signature for that action", async () => {
  await expect(a.call("outer.viaService")).resolves.toBe("inner answer");
  const meta = seen.at(-1)!;
  expect(typeof meta[SERVICE_CALL_META]).toBe("string");
});

it("runs an in-process service call on its mark, without a signature", async () => {
  await expect(a.call("outer.localViaService")).resolves.toBe("local answer");
});

it("refuses a bare call on the bus, locally and across nodes", async () => {
  const call = async (action: string) => a.call(action);
  await expect(call("outer.local")).rejects.toMatchObject({ code: 403 });
  await expect(call("inner.secret")).rejects.toMatchObject({ code: 403 });
});

it("turns the gateway's mark into an identity signature the other node verifies", async () => {
  await expect(a.call("outer.whoamiAsGateway")).resolves.toBe(admin.id);
});

it("signs the vouched identity again for a second call after a remote answer replaced meta.user with a copy", async () => {
  await expect(a.call("outer.whoamiTwiceAsGateway")).resolves.toBe(admin.id);
});

it("does not sign a user other than the one vouched for", async () => {
  await expect(a.call("outer.whoamiAsOther")).rejects.toMatchObject({ code: 401 });
});

it("refuses a foreign node's forged identity and service call (no valid signature)", async () => {
  // A node on the bus without the cluster's key (here: without the middleware at all).
  const foreign = new ServiceBroker({
    nodeID: "foreign",
    namespace: a.namespace,
    transporter: "Fake",
    logger: false,
  });
  await foreign.start();
  try {
    await foreign.waitForServices(["inner"]);
    const call = async (action: string, meta: Record<string, unknown>) =>
      foreign.call(action, {}, { meta });
    await expect(
      call("inner.whoami", { user: admin, [IDENTITY_SIGNATURE_META]: "forged" }),
    ).rejects.toMatchObject({ code: 401 });
    await expect(
      call("inner.secret", { [SERVICE_CALL_META]: `${Date.now()}.forged` }),
    ).rejects.toMatchObject({ code: 403 });
  } finally {
    await foreign.stop();
  }
});
