import {
  canTransition,
  compactPositions,
  courseChanges,
  courseProblems,
  courseReplacement,
  enrollmentOutcome,
  freeSeats,
  initialTeacherIds,
  isCalendarDate,
  isCourseStaff,
  movedPositions,
  normaliseTeacherIds,
  promotionPlan,
  toCourse,
  unknownTeacherProblems,
  type CourseInput,
} from "../../services/courses/courses";

const validCourse = {
  capacity: 30,
  enrolledCount: 10,
  startDate: "2025-09-01",
  endDate: "2025-12-19",
};

describe("isCalendarDate", () => {
  it("accepts a real day", () => {
    expect(isCalendarDate("2025-09-01")).toBe(true);
  });

  it("accepts 29 February in a leap year", () => {
    expect(isCalendarDate("2024-02-29")).toBe(true);
  });

  it("rejects 29 February in a common year", () => {
    expect(isCalendarDate("2025-02-29")).toBe(false);
  });

  it("rejects 30 February", () => {
    expect(isCalendarDate("2025-02-30")).toBe(false);
  });

  it("rejects month 13", () => {
    expect(isCalendarDate("2025-13-01")).toBe(false);
  });

  it("rejects day 00", () => {
    expect(isCalendarDate("2025-01-00")).toBe(false);
  });

  it("rejects a date without zero padding", () => {
    expect(isCalendarDate("2025-9-1")).toBe(false);
  });

  it("rejects a full timestamp", () => {
    expect(isCalendarDate("2025-09-01T00:00:00Z")).toBe(false);
  });

  it("rejects text that is not a date", () => {
    expect(isCalendarDate("next monday")).toBe(false);
  });
});

describe("courseProblems", () => {
  it("finds nothing wrong with a valid course", () => {
    expect(courseProblems(validCourse)).toEqual([]);
  });

  it("finds nothing wrong with no capacity and no dates", () => {
    expect(
      courseProblems({ capacity: null, enrolledCount: 500, startDate: null, endDate: null }),
    ).toEqual([]);
  });

  it("reports an impossible start date on startDate", () => {
    expect(courseProblems({ ...validCourse, startDate: "2025-02-30" })).toEqual([
      { field: "startDate", message: "is not a valid calendar date (YYYY-MM-DD)", type: "date" },
    ]);
  });

  it("reports an impossible end date on endDate", () => {
    expect(courseProblems({ ...validCourse, endDate: "2025-04-31" })).toEqual([
      { field: "endDate", message: "is not a valid calendar date (YYYY-MM-DD)", type: "date" },
    ]);
  });

  it("reports an end date before the start date", () => {
    expect(
      courseProblems({ ...validCourse, startDate: "2025-12-19", endDate: "2025-09-01" }),
    ).toEqual([{ field: "endDate", message: "must not be before startDate", type: "dateOrder" }]);
  });

  it("accepts a course that starts and ends on the same day", () => {
    expect(
      courseProblems({ ...validCourse, startDate: "2025-09-01", endDate: "2025-09-01" }),
    ).toEqual([]);
  });

  it("accepts an end date without a start date", () => {
    expect(courseProblems({ ...validCourse, startDate: null, endDate: "2020-01-01" })).toEqual([]);
  });

  it("does not also report the order when a date is invalid", () => {
    const problems = courseProblems({
      ...validCourse,
      startDate: "2025-99-99",
      endDate: "2025-01-01",
    });

    expect(problems.map((problem) => problem.type)).toEqual(["date"]);
  });

  it("reports a capacity below the students already enrolled", () => {
    expect(courseProblems({ ...validCourse, capacity: 9, enrolledCount: 10 })).toEqual([
      {
        field: "capacity",
        message: "must not be below the 10 students already enrolled",
        type: "capacityBelowEnrolled",
      },
    ]);
  });

  it("accepts a capacity equal to the students already enrolled", () => {
    expect(courseProblems({ ...validCourse, capacity: 10, enrolledCount: 10 })).toEqual([]);
  });

  it("reports every independent problem at once", () => {
    const problems = courseProblems({
      capacity: 1,
      enrolledCount: 2,
      startDate: "2025-02-30",
      endDate: "2025-02-31",
    });

    expect(problems.map((problem) => problem.field)).toEqual(["startDate", "endDate", "capacity"]);
  });
});

describe("courseReplacement", () => {
  it("resets every absent optional field: empty description, no capacity, no dates", () => {
    expect(courseReplacement({ code: "CS101", title: "Programming" })).toEqual({
      code: "CS101",
      title: "Programming",
      description: "",
      capacity: null,
      waitlistCapacity: 0,
      startDate: null,
      endDate: null,
    });
  });

  it("keeps every field that is given", () => {
    const input = {
      code: "CS101",
      title: "Programming",
      description: "Intro",
      capacity: 40,
      waitlistCapacity: 5,
      startDate: "2025-09-01",
      endDate: "2025-12-19",
    };

    expect(courseReplacement(input)).toEqual(input);
  });

  it("passes nothing but the editable fields", () => {
    const input = { code: "CS101", title: "T", id: "other-id", enrolledCount: 999 } as CourseInput;

    expect(Object.keys(courseReplacement(input)).sort()).toEqual(
      [
        "capacity",
        "code",
        "description",
        "endDate",
        "startDate",
        "title",
        "waitlistCapacity",
      ].sort(),
    );
  });
});

describe("courseChanges", () => {
  it("keeps only the fields present", () => {
    expect(courseChanges({ title: "New title" })).toEqual({ title: "New title" });
  });

  it("keeps a null capacity and null dates, which clear them", () => {
    expect(courseChanges({ capacity: null, startDate: null, endDate: null })).toEqual({
      capacity: null,
      startDate: null,
      endDate: null,
    });
  });

  it("never passes id or enrolledCount", () => {
    const input = { title: "T", id: "other-id", enrolledCount: 0 } as CourseInput;

    expect(courseChanges(input)).toEqual({ title: "T" });
  });

  it("never passes timestamps", () => {
    const input = { code: "X", createdAt: "2000-01-01", updatedAt: "2000-01-01" } as CourseInput;

    expect(courseChanges(input)).toEqual({ code: "X" });
  });

  it("an empty input changes nothing", () => {
    expect(courseChanges({})).toEqual({});
  });
});

describe("toCourse", () => {
  it("exposes the public fields with ISO timestamps", () => {
    const row = {
      id: "c1",
      code: "CS101",
      title: "Programming",
      description: "",
      capacity: null,
      enrolledCount: 3,
      waitlistCapacity: 4,
      waitlistedCount: 2,
      startDate: null,
      endDate: null,
      teacherIds: ["t1"],
      createdAt: new Date("2025-01-02T03:04:05.000Z"),
      updatedAt: new Date("2025-01-03T03:04:05.000Z"),
    };

    expect(toCourse(row)).toEqual({
      ...row,
      createdAt: "2025-01-02T03:04:05.000Z",
      updatedAt: "2025-01-03T03:04:05.000Z",
    });
  });

  it("drops columns that are not part of the public shape", () => {
    const row = {
      id: "c1",
      code: "CS101",
      title: "Programming",
      description: "",
      capacity: 5,
      enrolledCount: 0,
      waitlistCapacity: 0,
      waitlistedCount: 0,
      startDate: null,
      endDate: null,
      teacherIds: [],
      createdAt: new Date(0),
      updatedAt: new Date(0),
      deletedAt: null,
    };

    expect(toCourse(row)).not.toHaveProperty("deletedAt");
  });
});

describe("course teachers", () => {
  const teacher = {
    id: "11111111-1111-4111-8111-111111111111",
    role: "teacher",
    studentId: null,
  } as const;
  const otherTeacher = { ...teacher, id: "22222222-2222-4222-8222-222222222222" };
  const admin = { ...teacher, role: "admin" } as const;
  const student = {
    id: "33333333-3333-4333-8333-333333333333",
    role: "student",
    studentId: "s1",
  } as const;

  it("makes the teacher who creates a course its first teacher", () => {
    expect(initialTeacherIds(teacher)).toEqual([teacher.id]);
  });

  it("gives an admin's new course no teacher", () => {
    expect(initialTeacherIds(admin)).toEqual([]);
  });

  it("counts an admin and the course's own teachers as staff, nobody else", () => {
    const course = { teacherIds: [teacher.id] };
    expect(
      [admin, teacher, otherTeacher, student].map((who) => isCourseStaff(who, course)),
    ).toEqual([true, true, false, false]);
  });

  it("keeps each teacher id once, in lower case, in the order given", () => {
    expect(normaliseTeacherIds(["AB", "ab", "cd"])).toEqual(["ab", "cd"]);
  });

  it("names each requested id that is not a teacher account", () => {
    expect(unknownTeacherProblems(["a", "b", "c"], ["b"])).toEqual([
      { field: "teacherIds[0]", message: "is not a teacher account", type: "teacher" },
      { field: "teacherIds[2]", message: "is not a teacher account", type: "teacher" },
    ]);
  });
});

describe("the enrollment lifecycle", () => {
  it("allows only the lifecycle's transitions", () => {
    expect(canTransition(null, "active")).toBe(true);
    expect(canTransition(null, "waitlisted")).toBe(true);
    expect(canTransition(null, "completed")).toBe(false);
    expect(canTransition("dropped", "active")).toBe(true);
    expect(canTransition("waitlisted", "active")).toBe(true);
    expect(canTransition("waitlisted", "dropped")).toBe(true);
    expect(canTransition("waitlisted", "completed")).toBe(false);
    expect(canTransition("active", "active")).toBe(false);
    expect(canTransition("active", "waitlisted")).toBe(false);
    expect(canTransition("active", "completed")).toBe(true);
    for (const to of ["active", "waitlisted", "dropped", "completed"] as const)
      expect(canTransition("completed", to)).toBe(false);
  });

  it("seats a student while seats are free, then waitlists while the waitlist has room", () => {
    const course = { capacity: 2, enrolledCount: 1, waitlistCapacity: 2, waitlistedCount: 0 };
    expect(enrollmentOutcome(course)).toBe("active");
    expect(enrollmentOutcome({ ...course, enrolledCount: 2 })).toBe("waitlisted");
    expect(enrollmentOutcome({ ...course, enrolledCount: 2, waitlistedCount: 1 })).toBe(
      "waitlisted",
    );
    expect(enrollmentOutcome({ ...course, enrolledCount: 2, waitlistedCount: 2 })).toBe("full");
    expect(enrollmentOutcome({ ...course, enrolledCount: 2, waitlistCapacity: 0 })).toBe("full");
    expect(
      enrollmentOutcome({
        capacity: null,
        enrolledCount: 900,
        waitlistCapacity: 0,
        waitlistedCount: 0,
      }),
    ).toBe("active");
  });

  it("never lets a newcomer take a seat ahead of the waitlist", () => {
    expect(
      enrollmentOutcome({ capacity: 3, enrolledCount: 2, waitlistCapacity: 5, waitlistedCount: 1 }),
    ).toBe("waitlisted");
  });

  it("counts free seats (none below zero; unlimited without a capacity)", () => {
    expect(freeSeats({ capacity: 5, enrolledCount: 3 })).toBe(2);
    expect(freeSeats({ capacity: 3, enrolledCount: 5 })).toBe(0);
    expect(freeSeats({ capacity: null, enrolledCount: 5 })).toBe(Number.POSITIVE_INFINITY);
  });

  it("compacts positions to 1..n in order", () => {
    expect(
      compactPositions([
        { studentId: "c", position: 7 },
        { studentId: "a", position: 2 },
        { studentId: "b", position: 4 },
      ]),
    ).toEqual([
      { studentId: "a", position: 1 },
      { studentId: "b", position: 2 },
      { studentId: "c", position: 3 },
    ]);
  });

  it("promotes the first in line, in order, and renumbers the rest densely", () => {
    const waitlist = [
      { studentId: "d", position: 4 },
      { studentId: "a", position: 1 },
      { studentId: "c", position: 3 },
      { studentId: "b", position: 2 },
    ];
    expect(promotionPlan(waitlist, 2)).toEqual({
      promoted: ["a", "b"],
      remaining: [
        { studentId: "c", position: 1 },
        { studentId: "d", position: 2 },
      ],
    });
    expect(promotionPlan(waitlist, 0)).toEqual({
      promoted: [],
      remaining: [
        { studentId: "a", position: 1 },
        { studentId: "b", position: 2 },
        { studentId: "c", position: 3 },
        { studentId: "d", position: 4 },
      ],
    });
    expect(promotionPlan(waitlist, Number.POSITIVE_INFINITY).promoted).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
  });

  it("writes only the positions that change", () => {
    const before = [
      { studentId: "a", position: 1 },
      { studentId: "c", position: 3 },
    ];
    expect(movedPositions(before, compactPositions(before))).toEqual([
      { studentId: "c", position: 2 },
    ]);
  });
});
