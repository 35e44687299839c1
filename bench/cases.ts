/**
 * The cases of the bench, in the order the report lists them. `run.ts` fills in what it
 * measures; a case it could not measure keeps `skipped`.
 */
import type { CaseResult } from "./report";

export const STUDENT = "GET /api/students/:id";
export const RANDOM_STUDENT = "GET /api/students/:id, an id at random of 2,000";
export const STUDENTS_PAGE = "GET /api/students?pageSize=20";
export const STUDENT_COURSES = "GET /api/students/:id/courses (20 courses)";
export const COURSE_STUDENTS = "GET /api/courses/:id/students?pageSize=100 (100 students)";
export const MY_SCHEDULE = "GET /api/schedule/me (a student: 8 courses × 30 lessons; first 20)";

export const GRADEBOOK_JSON = "GET /api/courses/:id/gradebook (100 students × 20 items)";
export const GRADEBOOK_CSV = "GET /api/courses/:id/gradebook, Accept: text/csv (100 × 20)";

const BARE = "Node `http`, 1 process";
const ONE_PROCESS =
  "1 process: api, students, courses, users, notifications, schedule, assignments, gradebook";
const CLUSTER = "api, users, students, courses, schedule: 5 processes over NATS";
const CLUSTER2 = "api, users, 2× students, courses, schedule: 6 processes over NATS";

function twins(
  id: string,
  title: string,
  topology: string,
  request: string,
  references: { uncached?: [string, string]; cached?: [string, string] } = {},
): CaseResult[] {
  const reference = (pair?: [string, string]) =>
    pair ? { id: pair[0], label: pair[1] } : undefined;
  return [
    {
      id: `${id}.uncached`,
      title: `${title}, cache off`,
      topology: `${topology}, cache off`,
      request,
      reference: reference(references.uncached),
      notes: [],
    },
    {
      id: `${id}.cached`,
      title: `${title}, ${topology.includes("NATS") ? "Redis" : "memory"} cache`,
      topology: `${topology}, ${topology.includes("NATS") ? "Redis" : "memory"} cache`,
      request,
      twin: `${id}.uncached`,
      reference: reference(references.cached),
      notes: [],
    },
  ];
}

export function allCases(): CaseResult[] {
  return [
    {
      id: "bare.start",
      title: "bare http (start)",
      topology: BARE,
      request: "GET / (the same JSON record)",
      notes: [],
    },
    {
      id: "bare.end",
      title: "bare http (end)",
      topology: BARE,
      request: "GET / (the same JSON record)",
      reference: { id: "bare.start", label: "vs start (drift)" },
      notes: [],
    },
    ...twins("inproc.student", "1 process", ONE_PROCESS, STUDENT),
    ...twins("inproc.random", "1 process, random student", ONE_PROCESS, RANDOM_STUDENT, {
      uncached: ["inproc.student.uncached", "vs one student"],
      cached: ["inproc.student.cached", "vs one student"],
    }),
    ...twins("inproc.page", "1 process, students page", ONE_PROCESS, STUDENTS_PAGE, {
      uncached: ["inproc.student.uncached", "vs one student"],
      cached: ["inproc.student.cached", "vs one student"],
    }),
    {
      id: "inproc.gradebook.json",
      title: "course gradebook (JSON), cache off",
      topology: `${ONE_PROCESS}, cache off`,
      request: GRADEBOOK_JSON,
      reference: { id: "inproc.student.uncached", label: "vs one student" },
      notes: [],
    },
    {
      id: "inproc.gradebook.csv",
      title: "course gradebook (CSV), cache off",
      topology: `${ONE_PROCESS}, cache off`,
      request: GRADEBOOK_CSV,
      reference: { id: "inproc.gradebook.json", label: "vs JSON" },
      notes: [],
    },
    ...twins("nats.student", "NATS JSON", `${CLUSTER} (JSON)`, STUDENT, {
      uncached: ["inproc.student.uncached", "vs 1 process"],
      cached: ["inproc.student.cached", "vs 1 process"],
    }),
    ...twins("nats.random", "NATS JSON, random student", `${CLUSTER} (JSON)`, RANDOM_STUDENT, {
      uncached: ["inproc.random.uncached", "vs 1 process"],
      cached: ["inproc.random.cached", "vs 1 process"],
    }),
    ...twins("notepack.student", "NATS Notepack", `${CLUSTER} (Notepack)`, STUDENT, {
      uncached: ["nats.student.uncached", "vs JSON"],
      cached: ["nats.student.cached", "vs JSON"],
    }),
    ...twins("nats2.student", "2 students nodes", `${CLUSTER2} (JSON)`, STUDENT, {
      uncached: ["nats.student.uncached", "vs 1 students node"],
      cached: ["nats.student.cached", "vs 1 students node"],
    }),
    ...twins("nats.studentCourses", "student's courses", `${CLUSTER} (JSON)`, STUDENT_COURSES, {
      uncached: ["nats.student.uncached", "vs one student"],
      cached: ["nats.student.cached", "vs one student"],
    }),
    // The bound: within 2× of the student's courses with the cache off.
    ...twins("nats.mySchedule", "student's schedule", `${CLUSTER} (JSON)`, MY_SCHEDULE, {
      uncached: ["nats.studentCourses.uncached", "vs student's courses, cache off"],
      cached: ["nats.studentCourses.uncached", "vs student's courses, cache off"],
    }),
    ...twins("nats.courseStudents", "course's students", `${CLUSTER} (JSON)`, COURSE_STUDENTS, {
      uncached: ["nats.student.uncached", "vs one student"],
      cached: ["nats.student.cached", "vs one student"],
    }),
  ];
}
