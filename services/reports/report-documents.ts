/**
 * The three report documents, from the data the reports service gathered of the other services.
 * Pure: the same data always makes the same document (the generation time is given).
 */
import type { GradebookItem, StudentStanding } from "../gradebook/gradebook";
import { gradeDistribution, type Cell, type ReportColumn, type ReportDocument } from "./reports";

export interface Person {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
}

export interface AttendanceCounts {
  present: number;
  late: number;
  absent: number;
  excused: number;
  /** (present + late) / (lessons − excused), 0..1; null when nothing counts yet. */
  rate: number | null;
}

export interface CourseHeading {
  code: string;
  title: string;
}

const column = (header: string, kind: ReportColumn["kind"], width: number): ReportColumn => ({
  header,
  kind,
  width,
});

const fullName = (person: Person | undefined): string =>
  person ? `${person.lastName}, ${person.firstName}` : "(unknown student)";
const ratePercent = (rate: number | null | undefined): number | null =>
  rate === null || rate === undefined ? null : Math.round(rate * 10000) / 100;
const roundPercent = (value: number | null): number | null =>
  value === null ? null : Math.round(value * 100) / 100;

export interface CoursePerformanceData {
  course: CourseHeading;
  items: GradebookItem[];
  rows: ({ studentId: string; scores: Record<string, number | null> } & StudentStanding)[];
  students: Map<string, Person>;
  attendance: Map<string, AttendanceCounts>;
}

/** Per student: name, percent, grade and attendance; per item: how it went; the grade distribution. */
export function coursePerformanceDocument(
  data: CoursePerformanceData,
  generatedAt: Date,
): ReportDocument {
  const rows = [...data.rows].sort((a, b) =>
    fullName(data.students.get(a.studentId)).localeCompare(
      fullName(data.students.get(b.studentId)),
    ),
  );
  const studentRows: Cell[][] = rows.map((row) => {
    const attendance = data.attendance.get(row.studentId);
    return [
      fullName(data.students.get(row.studentId)),
      data.students.get(row.studentId)?.email ?? "",
      roundPercent(row.percent),
      row.grade === null ? null : String(row.grade),
      ratePercent(attendance?.rate),
      attendance?.present ?? 0,
      attendance?.late ?? 0,
      attendance?.absent ?? 0,
      attendance?.excused ?? 0,
    ];
  });
  const itemRows: Cell[][] = data.items.map((item) => {
    const given = rows
      .map((row) => row.scores[item.id])
      .filter((points): points is number => points !== null && points !== undefined);
    const average = given.length > 0 ? given.reduce((sum, p) => sum + p, 0) / given.length : null;
    return [
      item.title,
      item.category,
      item.maxPoints,
      given.length,
      average === null ? null : Math.round(average * 100) / 100,
    ];
  });
  return {
    title: `Course performance: ${data.course.code}`,
    subtitle: data.course.title,
    generatedAt,
    sections: [
      {
        name: "Students",
        columns: [
          column("Student", "text", 6),
          column("Email", "text", 7),
          column("Percent", "percent", 3),
          column("Grade", "text", 2),
          column("Attendance", "percent", 3),
          column("Present", "number", 2),
          column("Late", "number", 2),
          column("Absent", "number", 2),
          column("Excused", "number", 3),
        ],
        rows: studentRows,
      },
      {
        name: "Items",
        columns: [
          column("Item", "text", 8),
          column("Category", "text", 4),
          column("Max points", "number", 3),
          column("Graded", "number", 3),
          column("Average points", "number", 3),
        ],
        rows: itemRows,
      },
    ],
    chart: {
      title: "Grade distribution",
      caption: 'Students per grade ("none": no grade yet)',
      bars: gradeDistribution(rows),
    },
  };
}

export interface StudentCourse extends CourseHeading {
  courseId: string;
  status: string;
}

export interface StudentSubmission {
  courseId: string;
  title: string;
  dueAt: Date;
  maxPoints: number;
  submittedAt: Date | null;
  state: string | null;
  finalPoints: number | null;
}

export interface StudentProgressData {
  student: Person;
  courses: StudentCourse[];
  standings: Map<string, StudentStanding>;
  attendance: Map<string, AttendanceCounts>;
  submissions: StudentSubmission[];
}

/** Per course: percent, grade, attendance and submissions; then every assignment. */
export function studentProgressDocument(
  data: StudentProgressData,
  generatedAt: Date,
): ReportDocument {
  const codes = new Map(data.courses.map((course) => [course.courseId, course.code]));
  const courseRows: Cell[][] = data.courses.map((course) => {
    const standing = data.standings.get(course.courseId);
    const attendance = data.attendance.get(course.courseId);
    const assignments = data.submissions.filter((s) => s.courseId === course.courseId);
    return [
      course.code,
      course.title,
      course.status,
      roundPercent(standing?.percent ?? null),
      standing?.grade === null || standing?.grade === undefined ? null : String(standing.grade),
      ratePercent(attendance?.rate),
      attendance?.absent ?? 0,
      assignments.filter((s) => s.submittedAt !== null).length,
      assignments.length,
    ];
  });
  const submissionRows: Cell[][] = data.submissions.map((submission) => [
    codes.get(submission.courseId) ?? "",
    submission.title,
    submission.dueAt,
    submission.submittedAt,
    submission.state ?? "missing",
    submission.finalPoints,
    submission.maxPoints,
  ]);
  return {
    title: `Student progress: ${data.student.firstName} ${data.student.lastName}`,
    subtitle: data.student.email,
    generatedAt,
    sections: [
      {
        name: "Courses",
        columns: [
          column("Course", "text", 3),
          column("Title", "text", 7),
          column("Status", "text", 3),
          column("Percent", "percent", 3),
          column("Grade", "text", 2),
          column("Attendance", "percent", 3),
          column("Absent", "number", 2),
          column("Submitted", "number", 2),
          column("Assignments", "number", 3),
        ],
        rows: courseRows,
      },
      {
        name: "Submissions",
        columns: [
          column("Course", "text", 3),
          column("Assignment", "text", 7),
          column("Due", "date", 4),
          column("Submitted", "date", 4),
          column("State", "text", 3),
          column("Points", "number", 2),
          column("Max points", "number", 2),
        ],
        rows: submissionRows,
      },
    ],
    chart: {
      title: "Percent per course",
      caption: "The course percent (0 when nothing is graded yet)",
      bars: data.courses.map((course) => ({
        label: course.code,
        value: roundPercent(data.standings.get(course.courseId)?.percent ?? null) ?? 0,
      })),
    },
  };
}

export interface LessonAttendance {
  id: string;
  title: string;
  startsAt: Date;
  cancelled: boolean;
}

export interface AttendanceData {
  course: CourseHeading;
  lessons: LessonAttendance[];
  /** Roster student ids. */
  studentIds: string[];
  students: Map<string, Person>;
  /** `${lessonId}/${studentId}` → status. */
  records: Map<string, string>;
}

/** Per lesson and student (status, or "not recorded"); per lesson the counts by status. */
export function attendanceDocument(data: AttendanceData, generatedAt: Date): ReportDocument {
  const lessons = [...data.lessons].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
  const students = [...data.studentIds].sort((a, b) =>
    fullName(data.students.get(a)).localeCompare(fullName(data.students.get(b))),
  );
  const detail: Cell[][] = [];
  const summary: Cell[][] = [];
  const totals = new Map<string, number>();
  for (const lesson of lessons) {
    const counts = { present: 0, late: 0, absent: 0, excused: 0, "not recorded": 0 };
    for (const studentId of students) {
      const status = (data.records.get(`${lesson.id}/${studentId}`) ??
        "not recorded") as keyof typeof counts;
      counts[status] = (counts[status] ?? 0) + 1;
      totals.set(status, (totals.get(status) ?? 0) + 1);
      detail.push([lesson.startsAt, lesson.title, fullName(data.students.get(studentId)), status]);
    }
    summary.push([
      lesson.startsAt,
      lesson.title + (lesson.cancelled ? " (cancelled)" : ""),
      counts.present,
      counts.late,
      counts.absent,
      counts.excused,
      counts["not recorded"],
    ]);
  }
  return {
    title: `Attendance: ${data.course.code}`,
    subtitle: data.course.title,
    generatedAt,
    sections: [
      {
        name: "Attendance",
        columns: [
          column("Lesson start", "date", 4),
          column("Lesson", "text", 6),
          column("Student", "text", 6),
          column("Status", "text", 3),
        ],
        rows: detail,
      },
      {
        name: "Lessons",
        columns: [
          column("Lesson start", "date", 4),
          column("Lesson", "text", 6),
          column("Present", "number", 2),
          column("Late", "number", 2),
          column("Absent", "number", 2),
          column("Excused", "number", 2),
          column("Not recorded", "number", 3),
        ],
        rows: summary,
      },
    ],
    chart: {
      title: "Attendance by status",
      caption: "Lesson × student records by status",
      bars: ["present", "late", "absent", "excused", "not recorded"].map((label) => ({
        label,
        value: totals.get(label) ?? 0,
      })),
    },
  };
}
