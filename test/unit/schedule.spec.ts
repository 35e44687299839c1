import fc from "fast-check";
import { DateTime } from "luxon";
import {
  attendanceSummary,
  duplicateStudentProblems,
  feedTokenHash,
  feedUrl,
  isFeedToken,
  newFeedToken,
  normaliseRoom,
  notEnrolledProblems,
  overlappingPairs,
  overlaps,
  parseInstant,
  parseSlot,
  scheduleRange,
  timeZoneProblems,
  weeklySlots,
} from "../../services/schedule/schedule";

const at = (iso: string) => new Date(iso);
const slot = (start: string, end: string) => ({ startsAt: at(start), endsAt: at(end) });

describe("overlaps (half-open intervals)", () => {
  it("is true when the lessons share any time", () => {
    expect(
      overlaps(
        slot("2027-01-01T09:00:00Z", "2027-01-01T10:00:00Z"),
        slot("2027-01-01T09:59:00Z", "2027-01-01T11:00:00Z"),
      ),
    ).toBe(true);
  });

  it("is false for lessons that only touch", () => {
    expect(
      overlaps(
        slot("2027-01-01T09:00:00Z", "2027-01-01T10:00:00Z"),
        slot("2027-01-01T10:00:00Z", "2027-01-01T11:00:00Z"),
      ),
    ).toBe(false);
  });

  it("is true when one lesson contains the other", () => {
    expect(
      overlaps(
        slot("2027-01-01T08:00:00Z", "2027-01-01T12:00:00Z"),
        slot("2027-01-01T09:00:00Z", "2027-01-01T10:00:00Z"),
      ),
    ).toBe(true);
  });

  it("is symmetric, and agrees with 'some minute belongs to both'", () => {
    const minute = fc.integer({ min: 0, max: 200 });
    fc.assert(
      fc.property(minute, minute, minute, minute, (a, b, c, d) => {
        const first = {
          startsAt: new Date(Math.min(a, b) * 60000),
          endsAt: new Date((Math.max(a, b) + 1) * 60000),
        };
        const second = {
          startsAt: new Date(Math.min(c, d) * 60000),
          endsAt: new Date((Math.max(c, d) + 1) * 60000),
        };
        const shared =
          Math.max(Math.min(a, b), Math.min(c, d)) <= Math.min(Math.max(a, b), Math.max(c, d));
        expect(overlaps(first, second)).toBe(shared);
        expect(overlaps(second, first)).toBe(shared);
      }),
    );
  });

  it("overlappingPairs lists each clashing pair once", () => {
    const a = [slot("2027-01-01T09:00:00Z", "2027-01-01T10:00:00Z")];
    const b = [
      slot("2027-01-01T09:30:00Z", "2027-01-01T10:30:00Z"),
      slot("2027-01-01T10:00:00Z", "2027-01-01T11:00:00Z"),
    ];
    expect(overlappingPairs(a, b)).toEqual([[a[0], b[0]]]);
  });
});

describe("parseInstant and parseSlot", () => {
  it("keeps the input's offset and means the same instant", () => {
    const parsed = parseInstant("2027-03-01T09:00:00+05:30", "startsAt") as DateTime;
    expect(parsed.offset).toBe(330);
    expect(parsed.toUTC().toISO()).toBe("2027-03-01T03:30:00.000Z");
  });

  it.each(["2027-03-01T09:00:00", "2027-03-01", "yesterday"])("refuses %s (no offset)", (value) => {
    expect(parseInstant(value, "startsAt")).toEqual({
      field: "startsAt",
      message: expect.any(String),
      type: "dateTimeOffset",
    });
  });

  it("refuses a day that does not exist", () => {
    expect(parseInstant("2027-02-30T09:00:00Z", "endsAt")).toMatchObject({
      field: "endsAt",
      type: "dateTime",
    });
  });

  it("needs endsAt after startsAt and at most 12 hours later", () => {
    expect(parseSlot("2027-03-01T09:00:00Z", "2027-03-01T09:00:00Z")).toEqual([
      expect.objectContaining({ field: "endsAt", type: "dateOrder" }),
    ]);
    expect(parseSlot("2027-03-01T09:00:00Z", "2027-03-01T21:00:01Z")).toEqual([
      expect.objectContaining({ field: "endsAt", type: "duration" }),
    ]);
    expect(Array.isArray(parseSlot("2027-03-01T09:00:00Z", "2027-03-01T21:00:00Z"))).toBe(false);
  });

  it("compares instants, not wall-clock times, across offsets", () => {
    // 10:00+02:00 is 08:00Z: before 09:00Z.
    expect(parseSlot("2027-03-01T09:00:00Z", "2027-03-01T10:00:00+02:00")).toEqual([
      expect.objectContaining({ field: "endsAt", type: "dateOrder" }),
    ]);
  });
});

describe("weeklySlots (recurrence)", () => {
  const start = (iso: string) => parseInstant(iso, "startsAt") as DateTime;
  const utc = (slots: { startsAt: Date }[]) => slots.map((s) => s.startsAt.toISOString());

  it("keeps 09:00 local time across the spring DST change with a timeZone", () => {
    const slots = weeklySlots(
      start("2027-03-22T09:00:00+01:00"),
      start("2027-03-22T10:30:00+01:00"),
      3,
      "Europe/Berlin",
    );
    expect(utc(slots)).toEqual([
      "2027-03-22T08:00:00.000Z",
      "2027-03-29T07:00:00.000Z",
      "2027-04-05T07:00:00.000Z",
    ]);
    expect(slots.map((s) => s.endsAt.getTime() - s.startsAt.getTime())).toEqual([
      5400000, 5400000, 5400000,
    ]);
  });

  it("keeps local time across the autumn change in America/New_York", () => {
    const slots = weeklySlots(
      start("2027-10-31T18:00:00-04:00"),
      start("2027-10-31T19:00:00-04:00"),
      2,
      "America/New_York",
    );
    expect(utc(slots)).toEqual(["2027-10-31T22:00:00.000Z", "2027-11-07T23:00:00.000Z"]);
  });

  it("without a timeZone keeps the input's offset: exactly 7 × 24 hours apart", () => {
    const slots = weeklySlots(
      start("2027-03-22T09:00:00+01:00"),
      start("2027-03-22T10:00:00+01:00"),
      4,
    );
    const gaps = slots.slice(1).map((s, i) => s.startsAt.getTime() - slots[i].startsAt.getTime());
    expect(gaps).toEqual([604800000, 604800000, 604800000]);
  });

  it("makes exactly `weeks` lessons, none overlapping another", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 52 }), (weeks) => {
        const slots = weeklySlots(
          start("2027-01-04T09:00:00Z"),
          start("2027-01-04T21:00:00Z"),
          weeks,
          "Europe/London",
        );
        expect(slots).toHaveLength(weeks);
        expect(overlappingPairs(slots, slots).length).toBe(weeks);
      }),
    );
  });

  it("accepts IANA zone names only", () => {
    expect(timeZoneProblems("Europe/Berlin")).toEqual([]);
    expect(timeZoneProblems(undefined)).toEqual([]);
    expect(timeZoneProblems("CEST")).toEqual([
      expect.objectContaining({ field: "timeZone", type: "timeZone" }),
    ]);
  });
});

describe("scheduleRange", () => {
  const now = new Date("2027-05-10T15:30:00Z");

  it("defaults to today (UTC) .. 30 days later", () => {
    expect(scheduleRange({}, now)).toEqual({
      from: new Date("2027-05-10T00:00:00Z"),
      to: new Date("2027-06-09T00:00:00Z"),
    });
  });

  it("reads dates as the start of the day in UTC and date-times with their offset", () => {
    expect(scheduleRange({ from: "2027-01-01", to: "2027-01-02T00:00:00+01:00" }, now)).toEqual({
      from: new Date("2027-01-01T00:00:00Z"),
      to: new Date("2027-01-01T23:00:00Z"),
    });
  });

  it("allows 366 days and refuses 367", () => {
    expect(scheduleRange({ from: "2028-01-01", to: "2029-01-01" }, now)).not.toBeInstanceOf(Array);
    expect(scheduleRange({ from: "2027-01-01", to: "2028-01-03" }, now)).toEqual([
      expect.objectContaining({ field: "to", type: "range" }),
    ]);
  });

  it("refuses to before from and malformed ends", () => {
    expect(scheduleRange({ from: "2027-02-01", to: "2027-01-01" }, now)).toEqual([
      expect.objectContaining({ field: "to", type: "dateOrder" }),
    ]);
    expect(scheduleRange({ from: "2027-02-30" }, now)).toEqual([
      expect.objectContaining({ field: "from" }),
    ]);
  });
});

describe("attendance rules", () => {
  const alice = "11111111-1111-4111-8111-111111111111";
  const bob = "22222222-2222-4222-8222-222222222222";

  it("names each record whose student is not enrolled", () => {
    expect(
      notEnrolledProblems([{ studentId: alice }, { studentId: bob }], new Set([alice])),
    ).toEqual([
      { field: "records[1].studentId", message: expect.any(String), type: "notEnrolled" },
    ]);
  });

  it("compares student ids case-insensitively", () => {
    expect(notEnrolledProblems([{ studentId: alice.toUpperCase() }], new Set([alice]))).toEqual([]);
    expect(
      duplicateStudentProblems([{ studentId: alice }, { studentId: alice.toUpperCase() }]),
    ).toEqual([expect.objectContaining({ field: "records[1].studentId", type: "duplicate" })]);
  });

  it("summarises per course: late counts as attended, excused lessons do not count", () => {
    expect(
      attendanceSummary([
        { courseId: "b", status: "present" },
        { courseId: "a", status: "late" },
        { courseId: "a", status: "absent" },
        { courseId: "a", status: "excused" },
        { courseId: "a", status: "present" },
      ]),
    ).toEqual([
      { courseId: "a", lessons: 4, present: 1, late: 1, absent: 1, excused: 1, rate: 0.67 },
      { courseId: "b", lessons: 1, present: 1, late: 0, absent: 0, excused: 0, rate: 1 },
    ]);
  });

  it("has no rate when every lesson was excused", () => {
    expect(attendanceSummary([{ courseId: "a", status: "excused" }])[0].rate).toBeNull();
  });
});

describe("calendar feed secrets", () => {
  it("are 256-bit URL-safe tokens, each new", () => {
    const [a, b] = [newFeedToken(), newFeedToken()];
    expect(isFeedToken(a)).toBe(true);
    expect(a).not.toBe(b);
  });

  it("are stored only as a SHA-256 hash", () => {
    const token = newFeedToken();
    expect(feedTokenHash(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(feedTokenHash(token)).not.toContain(token);
  });

  it("refuses anything else as a token", () => {
    expect(isFeedToken("short")).toBe(false);
    expect(isFeedToken(`${"a".repeat(42)}/`)).toBe(false);
  });

  it("builds the URL under the public base", () => {
    expect(feedUrl("https://campus.example.org", "tok")).toBe(
      "https://campus.example.org/api/schedule/feed/tok",
    );
  });
});

describe("normaliseRoom", () => {
  it("trims, and treats blank as no room", () => {
    expect(normaliseRoom("  A-1 ")).toBe("A-1");
    expect(normaliseRoom("   ")).toBeNull();
    expect(normaliseRoom(null)).toBeNull();
  });
});
