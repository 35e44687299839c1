import Validator, { type ValidationError } from "fastest-validator";
import {
  defaultDisplayName,
  isFullAttendance,
  isPerfectScore,
  normalizedPatch,
  profilePatchFields,
  profilePatchProblems,
  toAchievement,
  toProfile,
  urlProblem,
} from "../../services/profiles/profiles";
import { achievementDraft } from "../../services/notifications/notifications";

const check = new Validator().compile({ ...profilePatchFields });
const fieldsRefused = (params: Record<string, unknown>) => {
  const result = check(params) as true | ValidationError[];
  return result === true ? [] : result.map((item) => item.field);
};

describe("profilePatchFields (fastest-validator)", () => {
  it("accepts every field at its limits", () => {
    expect(
      fieldsRefused({
        displayName: "d".repeat(100),
        bio: "b".repeat(2000),
        avatarUrl: `https://e.org/${"a".repeat(2048 - 14)}`,
        links: Array.from({ length: 5 }, (_, i) => `https://e.org/${i}`),
      }),
    ).toEqual([]);
  });

  it("refuses a bio over 2000 characters, 6 links, a long link and an empty name", () => {
    expect(fieldsRefused({ bio: "b".repeat(2001) })).toEqual(["bio"]);
    expect(fieldsRefused({ links: Array.from({ length: 6 }, () => "https://e.org") })).toEqual([
      "links",
    ]);
    expect(fieldsRefused({ links: [`https://e.org/${"a".repeat(2048)}`] })).toEqual(["links[0]"]);
    expect(fieldsRefused({ displayName: "  " })).toEqual(["displayName"]);
  });
});

describe("urlProblem", () => {
  it.each(["https://example.org", "http://example.org/a?b=c#d", "HTTPS://EXAMPLE.ORG"])(
    "accepts %s",
    (url) => expect(urlProblem(url)).toBeNull(),
  );

  it.each([
    ["javascript:alert(1)", "must be an http or https URL"],
    [" JaVaScRiPt:alert(1)", "must be an http or https URL"],
    ["data:text/html,<script>alert(1)</script>", "must be an http or https URL"],
    ["file:///etc/passwd", "must be an http or https URL"],
    ["ftp://example.org", "must be an http or https URL"],
    ["/relative/path", "is not an absolute URL"],
    ["not a url", "is not an absolute URL"],
    ["https://user:secret@example.org", "must not carry a user name or password"],
    [`https://e.org/${" ".repeat(2000)}x`, "must be at most 2048 characters once encoded"],
  ])("refuses %s", (url, problem) => expect(urlProblem(url)).toBe(problem));
});

describe("profilePatchProblems", () => {
  it("names each unknown field and each non-http(s) URL", () => {
    expect(
      profilePatchProblems({
        displayName: "Ok",
        nickname: "x",
        avatarUrl: "data:,x",
        links: ["https://ok.org", "javascript:void(0)"],
      }),
    ).toEqual([
      { field: "nickname", message: "is not a profile field", type: "unknownField" },
      { field: "avatarUrl", message: "must be an http or https URL", type: "url" },
      { field: "links[1]", message: "must be an http or https URL", type: "url" },
    ]);
  });

  it("finds nothing wrong with valid fields or a null avatar", () => {
    expect(profilePatchProblems({ avatarUrl: null, links: [], bio: "" })).toEqual([]);
  });
});

describe("normalizedPatch", () => {
  it("keeps only the given fields, URLs as the WHATWG parser writes them", () => {
    expect(
      normalizedPatch({ avatarUrl: "HTTPS://Example.ORG", links: ["http://e.org/a b"] }),
    ).toEqual({ avatarUrl: "https://example.org/", links: ["http://e.org/a%20b"] });
    expect(normalizedPatch({ avatarUrl: null })).toEqual({ avatarUrl: null });
    expect(normalizedPatch({ bio: "" })).toEqual({ bio: "" });
  });
});

describe("toProfile", () => {
  it("gives a user without a row the defaults, the name from the email's local part", () => {
    expect(toProfile("u1", "ada.lovelace@example.org", null)).toEqual({
      userId: "u1",
      displayName: "ada.lovelace",
      bio: "",
      avatarUrl: null,
      links: [],
      updatedAt: null,
    });
  });

  it("keeps the default name while the stored one is unset", () => {
    const updatedAt = new Date("2026-12-05T10:00:00Z");
    const row = {
      userId: "u1",
      displayName: null,
      bio: "Hi",
      avatarUrl: null,
      links: [],
      updatedAt,
    };
    expect(toProfile("u1", "ada@example.org", row)).toEqual(
      expect.objectContaining({
        displayName: "ada",
        bio: "Hi",
        updatedAt: "2026-12-05T10:00:00.000Z",
      }),
    );
  });

  it("cuts a default name to 100 characters", () => {
    expect(defaultDisplayName(`${"x".repeat(150)}@e.org`)).toHaveLength(100);
  });
});

describe("isPerfectScore", () => {
  it("is every point of a quiz with points, at hundredths", () => {
    expect(isPerfectScore({ score: 10, maxPoints: 10 })).toBe(true);
    expect(isPerfectScore({ score: 2.3, maxPoints: 2.3 })).toBe(true);
    expect(isPerfectScore({ score: 9.99, maxPoints: 10 })).toBe(false);
    expect(isPerfectScore({ score: 0, maxPoints: 0 })).toBe(false);
    expect(isPerfectScore({ score: "10", maxPoints: 10 })).toBe(false);
  });
});

describe("isFullAttendance", () => {
  const counts = { lessons: 3, present: 1, late: 1, absent: 0, excused: 1 };

  it("is every recorded lesson present, late or excused", () => {
    expect(isFullAttendance(counts)).toBe(true);
  });

  it("is not one absence, nor a course without a recorded lesson", () => {
    expect(isFullAttendance({ ...counts, absent: 1, lessons: 4 })).toBe(false);
    expect(isFullAttendance({ lessons: 0, present: 0, late: 0, absent: 0, excused: 0 })).toBe(
      false,
    );
    expect(isFullAttendance(null)).toBe(false);
  });
});

describe("achievements", () => {
  it("carry their title", () => {
    expect(toAchievement({ code: "perfect_quiz", awardedAt: "2026-12-05T10:00:00Z" })).toEqual({
      code: "perfect_quiz",
      title: "Perfect quiz",
      awardedAt: "2026-12-05T10:00:00.000Z",
    });
  });

  it("become an `achievement` notification naming the achievement", () => {
    expect(
      achievementDraft({ userId: "u1", code: "full_attendance", title: "Full attendance" }),
    ).toEqual({
      type: "achievement",
      title: "Achievement: Full attendance",
      body: 'You earned the achievement "Full attendance". It is on your profile.',
      data: { code: "full_attendance" },
    });
  });
});
