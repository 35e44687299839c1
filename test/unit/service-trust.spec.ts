import {
  SERVICE_CALL_MAX_AGE_MS,
  signIdentity,
  signServiceCall,
  trustKeys,
  verifyIdentity,
  verifyServiceCall,
} from "../../lib/service-trust";

const keys = trustKeys("the-cluster-jwt-secret-that-is-long-enough");
const otherKeys = trustKeys("a-different-secret-nobody-in-campus-has");
const admin = {
  id: "7d2f0b7e-1c3a-4f7e-9d55-3c1b2a4e5f60",
  role: "admin" as const,
  studentId: null,
};
const now = 1_760_000_000_000;

describe("service call signatures", () => {
  it("verify for the action they were made for", () => {
    expect(
      verifyServiceCall(
        keys,
        "students.createRecord",
        signServiceCall(keys, "students.createRecord", now),
        now,
      ),
    ).toBe(true);
  });

  it("do not carry over to another action", () => {
    expect(
      verifyServiceCall(
        keys,
        "students.deleteRecord",
        signServiceCall(keys, "students.createRecord", now),
        now,
      ),
    ).toBe(false);
  });

  it("expire after a minute, so a captured signature is of little use", () => {
    const signature = signServiceCall(keys, "users.account", now);

    expect(
      verifyServiceCall(keys, "users.account", signature, now + SERVICE_CALL_MAX_AGE_MS + 1),
    ).toBe(false);
  });

  it("made with another secret are refused", () => {
    expect(
      verifyServiceCall(
        keys,
        "users.account",
        signServiceCall(otherKeys, "users.account", now),
        now,
      ),
    ).toBe(false);
  });

  it("are refused when missing or malformed", () => {
    expect(
      [undefined, "", "abc", "1.2.3", `${now}.`].map((s) => verifyServiceCall(keys, "a.b", s, now)),
    ).toEqual([false, false, false, false, false]);
  });

  it("made with a rotated-out secret still verify while it is listed", () => {
    const rotated = trustKeys("the-new-secret-after-rotation-is-long", [
      "the-cluster-jwt-secret-that-is-long-enough",
    ]);

    expect(verifyServiceCall(rotated, "a.b", signServiceCall(keys, "a.b", now), now)).toBe(true);
  });
});

describe("identity signatures", () => {
  it("verify the identity the gateway signed", () => {
    expect(verifyIdentity(keys, admin, signIdentity(keys, admin))).toBe(true);
  });

  it("break when any field of the identity is changed", () => {
    const signature = signIdentity(keys, { ...admin, role: "student" as const, studentId: "s" });

    expect(verifyIdentity(keys, { ...admin, studentId: "s" }, signature)).toBe(false);
  });

  it("are refused without a signature or with another secret's", () => {
    expect([
      verifyIdentity(keys, admin, undefined),
      verifyIdentity(keys, admin, signIdentity(otherKeys, admin)),
    ]).toEqual([false, false]);
  });
});
