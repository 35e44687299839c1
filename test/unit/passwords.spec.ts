import {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  hashPassword,
  passwordProblems,
  verifyPassword,
} from "../../services/users/passwords";

const PASSWORD = "correct horse battery staple";
const EMAIL = "ada@example.com";

/** Hashing costs ~0.2 s: one hash shared by the tests that only read it. */
let stored: string;
beforeAll(async () => {
  stored = await hashPassword(PASSWORD);
});

/** `scrypt$N$r$p$salt$hash` with one part replaced. */
function withPart(hash: string, index: number, value: string): string {
  const parts = hash.split("$");
  parts[index] = value;
  return parts.join("$");
}

describe("hashPassword", () => {
  it("writes scheme, cost parameters, salt and hash as scrypt$N$r$p$salt$hash", () => {
    expect(stored).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
  });

  it("never contains the password", () => {
    expect(stored).not.toContain(PASSWORD);
  });

  it("salts every hash: the same password hashes differently twice", async () => {
    const again = await hashPassword(PASSWORD);

    expect(again).not.toBe(stored);
  });
});

describe("verifyPassword", () => {
  it("accepts the password that was hashed", async () => {
    await expect(verifyPassword(PASSWORD, stored)).resolves.toBe(true);
  });

  it("rejects a wrong password", async () => {
    await expect(verifyPassword("correct horse battery stapler", stored)).resolves.toBe(false);
  });

  it("rejects the password in different letter case", async () => {
    await expect(verifyPassword(PASSWORD.toUpperCase(), stored)).resolves.toBe(false);
  });

  it("rejects an empty password", async () => {
    await expect(verifyPassword("", stored)).resolves.toBe(false);
  });

  it("rejects when one character of the stored hash was changed", async () => {
    const hash = stored.split("$")[5];
    const flipped = (hash[0] === "A" ? "B" : "A") + hash.slice(1);

    await expect(verifyPassword(PASSWORD, withPart(stored, 5, flipped))).resolves.toBe(false);
  });

  it("rejects when the stored hash was truncated", async () => {
    const hash = stored.split("$")[5];

    await expect(verifyPassword(PASSWORD, withPart(stored, 5, hash.slice(0, 40)))).resolves.toBe(
      false,
    );
  });

  it("rejects when the stored salt was replaced", async () => {
    await expect(
      verifyPassword(PASSWORD, withPart(stored, 4, "AAAAAAAAAAAAAAAAAAAAAA")),
    ).resolves.toBe(false);
  });

  it("rejects a hash of another scheme", async () => {
    await expect(verifyPassword(PASSWORD, withPart(stored, 0, "bcrypt"))).resolves.toBe(false);
  });

  it("rejects a stored value that is not a hash at all", async () => {
    await expect(verifyPassword(PASSWORD, "not-a-hash")).resolves.toBe(false);
  });

  it("rejects an empty stored value", async () => {
    await expect(verifyPassword(PASSWORD, "")).resolves.toBe(false);
  });

  it("rejects a stored value without salt and hash", async () => {
    await expect(verifyPassword(PASSWORD, "scrypt$32768$8$3$$")).resolves.toBe(false);
  });

  it.each(["abc", "1000", String(2 ** 30)])(
    "resolves false, not an error, when the stored N was tampered with (N=%s)",
    async (n) => {
      const [scheme, , r, p, salt, hash] = (await hashPassword(PASSWORD)).split("$");
      const tampered = [scheme, n, r, p, salt, hash].join("$");

      await expect(verifyPassword(PASSWORD, tampered)).resolves.toBe(false);
    },
  );
});

describe("passwordProblems", () => {
  it("accepts a long, uncommon password that is not the email", () => {
    expect(passwordProblems(PASSWORD, EMAIL)).toEqual([]);
  });

  it("accepts exactly the minimum length", () => {
    expect(passwordProblems("x7!kQ2#mZp".slice(0, PASSWORD_MIN_LENGTH), EMAIL)).toEqual([]);
  });

  it("accepts exactly the maximum length", () => {
    expect(passwordProblems("k".repeat(PASSWORD_MAX_LENGTH), EMAIL)).toEqual([]);
  });

  it("the limits are 10 and 128 characters", () => {
    expect([PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH]).toEqual([10, 128]);
  });

  it("reports a password one character too short", () => {
    expect(passwordProblems("x7!kQ2#mZ", EMAIL)).toEqual([
      { field: "password", message: "must be at least 10 characters", type: "passwordTooShort" },
    ]);
  });

  it("reports a password one character too long", () => {
    expect(passwordProblems("k".repeat(PASSWORD_MAX_LENGTH + 1), EMAIL)).toEqual([
      { field: "password", message: "must be at most 128 characters", type: "passwordTooLong" },
    ]);
  });

  it("reports a password equal to the email", () => {
    expect(passwordProblems("ada.lovelace@example.com", "ada.lovelace@example.com")).toEqual([
      { field: "password", message: "must not be the email address", type: "passwordIsEmail" },
    ]);
  });

  it("reports a password equal to the email in different letter case", () => {
    const types = passwordProblems("Ada.Lovelace@Example.com", "ada.lovelace@EXAMPLE.com").map(
      (problem) => problem.type,
    );

    expect(types).toEqual(["passwordIsEmail"]);
  });

  it("reports a common password", () => {
    expect(passwordProblems("password123", EMAIL)).toEqual([
      { field: "password", message: "is too common", type: "passwordTooCommon" },
    ]);
  });

  it("reports a common password in different letter case", () => {
    const types = passwordProblems("QwertyUiop", EMAIL).map((problem) => problem.type);

    expect(types).toEqual(["passwordTooCommon"]);
  });

  it("reports a short email-equal password for both reasons", () => {
    const types = passwordProblems("a@b.io", "a@b.io").map((problem) => problem.type);

    expect(types).toEqual(["passwordTooShort", "passwordIsEmail"]);
  });
});
