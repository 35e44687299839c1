/**
 * The OpenAPI 3.1 document of the gateway, built at start-up from the same declarations the
 * gateway routes by: the route aliases (`restAliases` over the services' `rest` declarations, plus
 * the auth aliases) and each action's `params` (fastest-validator rules, converted to JSON Schema)
 * and `permissions`. What cannot be read from the code — summaries, response shapes, examples —
 * lives in `OPERATIONS` below, keyed by action name; a unit test fails when a published action has
 * no entry there.
 */
import { version } from "../../package.json";
import {
  assignmentFields,
  DEFAULT_CATEGORY,
  MAX_BODY_LENGTH,
  MAX_FEEDBACK_LENGTH,
} from "../assignments/assignments";
import {
  COURSE_SORT_FIELDS,
  courseFields,
  ENROLLMENT_STATUSES,
  MAX_TEACHERS,
} from "../courses/courses";
import { DEFAULT_SCALE, gradingFields } from "../gradebook/gradebook";
import {
  CONTENT_TYPES,
  MAX_ACTIVE_JOBS_PER_USER,
  MAX_REPORT_ROWS,
  REPORT_FORMATS,
  REPORT_RETENTION_DAYS,
  REPORT_STATUSES,
  REPORT_TYPES,
} from "../reports/reports";
import { MAX_URL_LENGTH } from "../../lib/http-input";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../lib/paging";
import { NOTIFICATION_TYPES, MAX_TITLE_LENGTH } from "../notifications/notifications";
import {
  ATTENDANCE_STATUSES,
  LESSON_KINDS,
  MAX_NOTE_LENGTH,
  MAX_ROOM_LENGTH,
  MAX_TITLE_LENGTH as MAX_LESSON_TITLE_LENGTH,
} from "../schedule/schedule";
import {
  answersField,
  MAX_CHOICES,
  MAX_QUESTIONS,
  QUESTION_TYPES,
  quizFields,
} from "../quizzes/quizzes";
import {
  ACHIEVEMENT_CODES,
  MAX_BIO_LENGTH,
  MAX_DISPLAY_NAME_LENGTH,
  MAX_LINKS,
  MAX_PROFILE_URL_LENGTH,
} from "../profiles/profiles";
import { STUDENT_SORT_FIELDS, studentFields } from "../students/students";
import { ROLES } from "../../lib/tokens";

export type JsonSchema = { [keyword: string]: unknown };

// ---------------------------------------------------------------------------------------------
// fastest-validator → JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1)
// ---------------------------------------------------------------------------------------------

type FastestRule = Record<string, unknown> & { type?: string };

/** `"number|integer|min:1|optional"` → `{type:"number", integer:true, min:1, optional:true}`. */
function parseShorthand(rule: string): FastestRule {
  const [type, ...options] = rule.split("|").map((part) => part.trim());
  const parsed: FastestRule = { type };
  for (const option of options) {
    const [key, raw] = option.split(":");
    if (raw === undefined) parsed[key] = true;
    else if (raw === "true" || raw === "false") parsed[key] = raw === "true";
    else parsed[key] = Number.isNaN(Number(raw)) ? raw : Number(raw);
  }
  return parsed;
}

function normalize(rule: unknown): FastestRule | FastestRule[] | null {
  if (typeof rule === "string") return parseShorthand(rule);
  if (Array.isArray(rule)) return rule.map((item) => normalize(item) as FastestRule);
  if (rule && typeof rule === "object") return rule as FastestRule;
  return null;
}

/** A rule the client may leave out (`optional`, or a default fills it in). */
export function isOptionalRule(rule: unknown): boolean {
  const normalized = normalize(rule);
  if (Array.isArray(normalized)) return normalized.length > 0 && normalized.every(isOptionalRule);
  return normalized?.optional === true || normalized?.default !== undefined;
}

function lengths(rule: FastestRule, min: string, max: string): JsonSchema {
  const schema: JsonSchema = {};
  if (typeof rule.length === "number") {
    schema[min] = rule.length;
    schema[max] = rule.length;
  }
  if (typeof rule.min === "number") schema[min] = rule.min;
  if (typeof rule.max === "number") schema[max] = rule.max;
  return schema;
}

function stringSchema(rule: FastestRule): JsonSchema {
  const schema: JsonSchema = { type: "string", ...lengths(rule, "minLength", "maxLength") };
  if (rule.empty === false && !(Number(schema.minLength) >= 1)) schema.minLength = 1;
  if (rule.pattern instanceof RegExp) schema.pattern = rule.pattern.source;
  else if (typeof rule.pattern === "string") schema.pattern = rule.pattern;
  if (Array.isArray(rule.enum)) schema.enum = [...rule.enum];
  if (rule.trim === true) {
    schema.description = "Leading and trailing whitespace is removed before the length is checked.";
  }
  return schema;
}

function numberSchema(rule: FastestRule): JsonSchema {
  // `convert: true` lets the validator accept "20" for 20: what a query string carries. The
  // documented type stays the number the value must denote.
  const schema: JsonSchema = { type: rule.integer === true ? "integer" : "number" };
  if (typeof rule.min === "number") schema.minimum = rule.min;
  if (typeof rule.max === "number") schema.maximum = rule.max;
  if (typeof rule.equal === "number") schema.const = rule.equal;
  if (rule.positive === true) schema.exclusiveMinimum = 0;
  if (rule.negative === true) schema.exclusiveMaximum = 0;
  return schema;
}

function enumSchema(values: unknown[]): JsonSchema {
  const types = new Set(values.map((value) => typeof value));
  const schema: JsonSchema = { enum: [...values] };
  if (types.size === 1) {
    const [only] = types;
    if (only === "string" || only === "boolean") schema.type = only;
    if (only === "number") schema.type = values.every(Number.isInteger) ? "integer" : "number";
  }
  return schema;
}

/** `nullable: true`: null is accepted too. */
function withNull(schema: JsonSchema): JsonSchema {
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) {
    schema.enum = [...schema.enum, null];
  }
  if (typeof schema.type === "string") return { ...schema, type: [schema.type, "null"] };
  if (Array.isArray(schema.type))
    return schema.type.includes("null") ? schema : { ...schema, type: [...schema.type, "null"] };
  return { anyOf: [schema, { type: "null" }] };
}

/**
 * One fastest-validator rule (object, shorthand string, or an array of alternatives) as a JSON
 * Schema. `optional` does not show here: it decides the enclosing object's `required` list (see
 * `paramsToJsonSchema`). A rule type it does not know becomes `{}` (any value), which the
 * OpenAPI tests refuse for the real services.
 */
export function fastestToJsonSchema(rule: unknown): JsonSchema {
  const normalized = normalize(rule);
  if (normalized === null) return {};
  if (Array.isArray(normalized)) return { anyOf: normalized.map(fastestToJsonSchema) };

  let schema: JsonSchema;
  switch (normalized.type) {
    case "string":
      schema = stringSchema(normalized);
      break;
    case "email":
      schema = { ...stringSchema(normalized), format: "email" };
      break;
    case "uuid":
      schema = { type: "string", format: "uuid" };
      break;
    case "url":
      schema = { type: "string", format: "uri" };
      break;
    case "date":
      schema = { type: "string", format: "date-time" };
      break;
    case "number":
      schema = numberSchema(normalized);
      break;
    case "boolean":
      schema = { type: "boolean" };
      break;
    case "enum":
      schema = enumSchema(Array.isArray(normalized.values) ? normalized.values : []);
      break;
    case "equal":
      schema = { const: normalized.value };
      break;
    case "array": {
      schema = { type: "array", ...lengths(normalized, "minItems", "maxItems") };
      if (normalized.items !== undefined) schema.items = fastestToJsonSchema(normalized.items);
      if (normalized.unique === true) schema.uniqueItems = true;
      break;
    }
    case "object":
      schema =
        normalized.props && typeof normalized.props === "object"
          ? paramsToJsonSchema(normalized.props as Record<string, unknown>)
          : { type: "object" };
      if (normalized.strict === true) schema.additionalProperties = false;
      break;
    case "multi":
      schema = {
        anyOf: (Array.isArray(normalized.rules) ? normalized.rules : []).map(fastestToJsonSchema),
      };
      break;
    default:
      // "any", and anything this converter does not know.
      schema = {};
  }
  if (normalized.default !== undefined && typeof normalized.default !== "function") {
    schema.default = normalized.default;
  }
  return normalized.nullable === true ? withNull(schema) : schema;
}

/**
 * An action's `params` (a map of rules) as an object schema: `$$`-keys (`$$strict`, …) are
 * ignored, `omit` leaves out the path parameters, optional rules stay out of `required`.
 */
export function paramsToJsonSchema(
  params: Record<string, unknown>,
  omit: readonly string[] = [],
): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, rule] of Object.entries(params)) {
    if (name.startsWith("$$") || omit.includes(name)) continue;
    properties[name] = fastestToJsonSchema(rule);
    if (!isOptionalRule(rule)) required.push(name);
  }
  return { type: "object", properties, ...(required.length > 0 ? { required } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Shapes of the answers (components/schemas)
// ---------------------------------------------------------------------------------------------

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const uuid: JsonSchema = { type: "string", format: "uuid" };
const timestamp: JsonSchema = { type: "string", format: "date-time" };
const EXAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/** Every property present in the answer; the field rules come from the same input rules. */
function record(properties: Record<string, JsonSchema>, description: string): JsonSchema {
  return { type: "object", description, properties, required: Object.keys(properties) };
}

const enrollmentStatus: JsonSchema = { type: "string", enum: [...ENROLLMENT_STATUSES] };
const waitlistPosition: JsonSchema = {
  type: ["integer", "null"],
  minimum: 1,
  description: "1-based place on the waitlist; null unless waitlisted",
};

function pageOf(item: string): JsonSchema {
  return record(
    {
      rows: { type: "array", items: ref(item), maxItems: MAX_PAGE_SIZE },
      total: { type: "integer", minimum: 0, description: "Rows matching, over every page" },
      page: { type: "integer", minimum: 1 },
      pageSize: { type: "integer", minimum: 1, maximum: MAX_PAGE_SIZE },
      totalPages: { type: "integer", minimum: 0 },
    },
    `One page of ${item} records`,
  );
}

/** The input rules of a record's fields, as the shape of the stored (already trimmed) values. */
function inputFields(rules: Record<string, unknown>): Record<string, JsonSchema> {
  const properties = paramsToJsonSchema(rules).properties as Record<string, JsonSchema>;
  for (const schema of Object.values(properties)) delete schema.description;
  return properties;
}

const userSchema = record(
  {
    id: uuid,
    email: { type: "string", format: "email", maxLength: 254 },
    role: { type: "string", enum: [...ROLES] },
    studentId: { type: ["string", "null"], format: "uuid", description: "For student accounts" },
    disabled: { type: "boolean" },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  "An account (never its password or hash)",
);

const courseInput = inputFields(courseFields);
const courseSchema = record(
  {
    id: uuid,
    ...courseInput,
    description: { ...courseInput.description, description: "Empty when not given" },
    capacity: { ...courseInput.capacity, description: "null: no limit" },
    enrolledCount: {
      type: "integer",
      minimum: 0,
      description: "Seats taken (active and completed enrollments)",
    },
    waitlistCapacity: {
      ...courseInput.waitlistCapacity,
      description: "How many may wait for a seat; 0: no waitlist",
    },
    waitlistedCount: { type: "integer", minimum: 0, description: "How many are waiting" },
    teacherIds: {
      type: "array",
      items: uuid,
      maxItems: MAX_TEACHERS,
      description: "User ids of the course's teachers; the teacher who created it comes first",
    },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  "A course",
);

const assignmentInput = inputFields(assignmentFields);
const assignmentSchema = record(
  {
    id: uuid,
    courseId: uuid,
    ...assignmentInput,
    description: { ...assignmentInput.description, description: "Empty when not given" },
    dueAt: { ...timestamp, description: "Given with an offset; answered in UTC" },
    category: { ...assignmentInput.category, description: `Default "${DEFAULT_CATEGORY}"` },
    published: { type: "boolean", description: "Students see only published assignments" },
    latePenaltyPercentPerDay: {
      ...assignmentInput.latePenaltyPercentPerDay,
      description: "Default 0",
    },
    lateDaysAllowed: { ...assignmentInput.lateDaysAllowed, description: "Default 0" },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  "An assignment of a course",
);

const points = (description: string): JsonSchema => ({
  type: ["number", "null"],
  minimum: 0,
  description,
});

const submissionSchema = record(
  {
    assignmentId: uuid,
    studentId: uuid,
    body: { type: "string", minLength: 1, maxLength: MAX_BODY_LENGTH },
    state: { type: "string", enum: ["turned_in", "graded"] },
    submittedAt: timestamp,
    late: { type: "boolean" },
    daysLate: { type: "integer", minimum: 0, description: "Whole days after dueAt, rounded up" },
    points: points("As graded; null until graded"),
    penaltyPoints: {
      type: "number",
      minimum: 0,
      description: "daysLate × latePenaltyPercentPerDay % of maxPoints, rounded to hundredths",
    },
    finalPoints: points("max(0, points − penaltyPoints); what the gradebook counts"),
    feedback: { type: ["string", "null"], maxLength: MAX_FEEDBACK_LENGTH },
    gradedAt: { type: ["string", "null"], format: "date-time" },
  },
  "A student's submission of an assignment (one per student, replaced until graded)",
);

const gradebookItemSchema = record(
  {
    id: uuid,
    source: { type: "string", enum: ["assignment", "quiz"] },
    title: { type: "string" },
    category: { type: "string" },
    maxPoints: { type: "number", exclusiveMinimum: 0 },
  },
  "A graded item of a course (an assignment or a quiz)",
);

const gradeValue: JsonSchema = {
  type: ["integer", "number", "string", "null"],
  description: "From the course's scale (default 5-point); null without a graded item",
};
const percentValue: JsonSchema = {
  type: ["number", "null"],
  minimum: 0,
  maximum: 100,
  description: "Weighted course percent, two decimals; null without a graded item",
};
const gradingInput = paramsToJsonSchema(gradingFields).properties as Record<string, JsonSchema>;

const quizInput = inputFields(quizFields);
const questionSchema: JsonSchema = {
  type: "object",
  description:
    "A question. Students see only id, type, prompt, points and the choices' id and text until " +
    "they have submitted; the correct flags, `answer`, `tolerance` and `caseSensitive` are for staff.",
  properties: {
    id: { type: "string", maxLength: 64 },
    type: { type: "string", enum: [...QUESTION_TYPES] },
    prompt: { type: "string" },
    points: { type: "number", exclusiveMinimum: 0 },
    choices: {
      type: "array",
      maxItems: MAX_CHOICES,
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          text: { type: "string" },
          correct: { type: "boolean" },
        },
        required: ["id", "text"],
      },
    },
    answer: { type: ["number", "string"] },
    tolerance: { type: "number", minimum: 0 },
    caseSensitive: { type: "boolean" },
  },
  required: ["id", "type", "prompt", "points"],
};
const attemptSummaryProperties: Record<string, JsonSchema> = {
  id: uuid,
  quizId: uuid,
  studentId: uuid,
  number: { type: "integer", minimum: 1, description: "1 for the student's first attempt" },
  state: {
    type: "string",
    enum: ["in_progress", "submitted", "expired"],
    description: "expired: the time ran out before a submit; scored as it stood",
  },
  startedAt: timestamp,
  deadline: {
    type: ["string", "null"],
    format: "date-time",
    description:
      "Start + time limit (or the quiz's close, if sooner); a submit is accepted up to 5 s after it",
  },
  submittedAt: { type: ["string", "null"], format: "date-time" },
  score: { type: ["number", "null"], minimum: 0 },
  maxPoints: { type: "number", exclusiveMinimum: 0 },
};
const quizSchema = record(
  {
    id: uuid,
    courseId: uuid,
    ...quizInput,
    questions: { type: "array", items: ref("Question"), minItems: 1, maxItems: MAX_QUESTIONS },
    timeLimitSeconds: { ...quizInput.timeLimitSeconds, description: "null: no time limit" },
    maxAttempts: { ...quizInput.maxAttempts, description: "Default 1" },
    opensAt: { type: ["string", "null"], format: "date-time" },
    closesAt: { type: ["string", "null"], format: "date-time" },
    shuffle: {
      type: "boolean",
      description: "Each attempt gets its own order of questions and choices",
    },
    published: { type: "boolean", description: "Drafts are seen by course staff only" },
    maxPoints: {
      type: "number",
      exclusiveMinimum: 0,
      description: "The sum of the questions' points",
    },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
  "A quiz of a course",
);

const reportSchema = record(
  {
    id: uuid,
    type: { type: "string", enum: [...REPORT_TYPES] },
    format: { type: "string", enum: [...REPORT_FORMATS] },
    courseId: { ...uuid, type: ["string", "null"], description: "A course report's course" },
    studentId: { ...uuid, type: ["string", "null"], description: "A student report's student" },
    status: { type: "string", enum: [...REPORT_STATUSES] },
    progress: { type: "integer", minimum: 0, maximum: 100 },
    error: { type: ["string", "null"], description: "Why it failed" },
    createdAt: timestamp,
    finishedAt: { ...timestamp, type: ["string", "null"] },
    size: { type: ["integer", "null"], description: "The file's bytes, once made" },
  },
  "A report job: its request, where its worker is, and the file's size once it is made",
);

const errorSchema: JsonSchema = {
  type: "object",
  description: "Every error answer. Never a stack trace, SQL, host, node or action name.",
  properties: {
    name: { type: "string", examples: ["NotFound"] },
    message: { type: "string", description: "For people; may change" },
    code: { type: "integer", minimum: 400, maximum: 599, description: "The HTTP status" },
    type: {
      type: "string",
      pattern: "^[A-Z][A-Z0-9_]*$",
      description: "For programs: NOT_FOUND, VALIDATION_ERROR, ALREADY_ENROLLED, COURSE_FULL, …",
    },
    data: { description: "Details; for 422 the list of field errors" },
  },
  required: ["name", "message", "code", "type"],
  examples: [
    { name: "NotFound", message: "Student not found", code: 404, type: "NOT_FOUND" },
    {
      name: "Conflict",
      message: "The student is already enrolled in this course",
      code: 409,
      type: "ALREADY_ENROLLED",
    },
  ],
};

export const COMPONENT_SCHEMAS: Record<string, JsonSchema> = {
  Student: record(
    { id: uuid, ...inputFields(studentFields), createdAt: timestamp, updatedAt: timestamp },
    "A student record; email stored lower-case, unique case-insensitively",
  ),
  Course: courseSchema,
  EnrolledCourse: {
    description: "A course the student is enrolled in, with the enrollment's time",
    allOf: [
      ref("Course"),
      record(
        {
          enrolledAt: timestamp,
          status: enrollmentStatus,
          position: waitlistPosition,
          finalPercent: {
            type: ["number", "null"],
            description: "The gradebook's final percent (completed; null if none was available)",
          },
          finalGrade: { type: ["string", "null"], description: "The gradebook's final grade" },
        },
        "The student's enrollment in it",
      ),
    ],
  },
  Enrollment: record(
    {
      courseId: uuid,
      studentId: uuid,
      enrolledAt: timestamp,
      status: enrollmentStatus,
      position: waitlistPosition,
    },
    "A student's place in a course (one per pair)",
  ),
  WaitlistEntry: record(
    {
      studentId: uuid,
      position: { type: "integer", minimum: 1 },
      waitlistedAt: timestamp,
    },
    "A student waiting for a seat",
  ),
  WaitlistPage: pageOf("WaitlistEntry"),
  EnrollmentHistory: record(
    {
      rows: {
        type: "array",
        items: record(
          {
            from: { type: ["string", "null"], enum: [...ENROLLMENT_STATUSES, null] },
            to: enrollmentStatus,
            at: timestamp,
            by: { type: ["string", "null"], format: "uuid", description: "null: the system" },
            reason: { type: "string" },
          },
          "One change of status",
        ),
      },
    },
    "Every change of an enrollment's status, oldest first",
  ),
  CompletionResult: record(
    {
      completed: { type: "integer", minimum: 0, description: "Enrollments now completed" },
      waitlistDropped: {
        type: "integer",
        minimum: 0,
        description: "Waitlisted students let go",
      },
    },
    "What completing the course changed",
  ),
  User: userSchema,
  Notification: record(
    {
      id: uuid,
      userId: uuid,
      type: { type: "string", enum: [...NOTIFICATION_TYPES] },
      title: { type: "string", maxLength: MAX_TITLE_LENGTH },
      body: { type: "string" },
      data: { type: "object", description: "Ids the notification is about (courseId, …)" },
      readAt: { type: ["string", "null"], format: "date-time" },
      createdAt: timestamp,
    },
    "A notification of the caller's, made from a domain event",
  ),
  AuthToken: record(
    {
      accessToken: { type: "string", description: "A JWT (HS256): send as `Bearer <token>`" },
      tokenType: { const: "Bearer" },
      expiresIn: { type: "integer", minimum: 1, description: "Seconds" },
      user: ref("User"),
    },
    "An access token and the account it is for",
  ),
  Assignment: assignmentSchema,
  AssignmentPage: pageOf("Assignment"),
  Submission: submissionSchema,
  SubmissionPage: pageOf("Submission"),
  GradebookItem: gradebookItemSchema,
  Gradebook: record(
    {
      items: { type: "array", items: ref("GradebookItem") },
      rows: {
        type: "array",
        items: record(
          {
            studentId: uuid,
            scores: {
              type: "object",
              additionalProperties: { type: ["number", "null"] },
              description: "Final points per item id; null: not graded",
            },
            percent: percentValue,
            grade: gradeValue,
          },
          "One enrolled (or graded) student",
        ),
      },
    },
    "A course's gradebook. With `Accept: text/csv`: the same as CSV (UTF-8 with BOM, CRLF line ends, RFC 4180 quoting, formula-like text prefixed with an apostrophe)",
  ),
  StudentGrades: record(
    {
      courses: {
        type: "array",
        items: record(
          {
            courseId: uuid,
            items: {
              type: "array",
              items: {
                allOf: [
                  ref("GradebookItem"),
                  record({ points: { type: ["number", "null"] } }, "The student's final points"),
                ],
              },
            },
            percent: percentValue,
            grade: gradeValue,
          },
          "One course of the student's",
        ),
      },
    },
    "A student's grades per course",
  ),
  GradingPolicy: record(
    {
      courseId: uuid,
      categories: gradingInput.categories,
      scale: { ...gradingInput.scale, description: "Highest threshold first" },
      custom: { type: "boolean", description: "false: the default policy (no policy set)" },
    },
    "How a course's percent and grade are computed",
  ),
  Question: questionSchema,
  Quiz: quizSchema,
  QuizPage: pageOf("Quiz"),
  Report: reportSchema,
  ReportPage: pageOf("Report"),
  AttemptSummary: record(attemptSummaryProperties, "An attempt at a quiz, without its questions"),
  Attempt: record(
    {
      ...attemptSummaryProperties,
      questions: {
        type: "array",
        items: ref("Question"),
        description: "In the attempt's own order; with the correct answers once scored",
      },
      answers: {
        type: ["array", "null"],
        items: (fastestToJsonSchema(answersField) as { items: JsonSchema }).items,
        description: "What the student submitted; null until scored",
      },
      results: {
        type: ["array", "null"],
        items: record(
          {
            questionId: { type: "string" },
            points: { type: "number", minimum: 0 },
            maxPoints: { type: "number", exclusiveMinimum: 0 },
          },
          "The points one question earned",
        ),
        description: "Points per question; null until scored",
      },
    },
    "An attempt at a quiz with its questions",
  ),
  AttemptPage: pageOf("AttemptSummary"),
  StudentPage: pageOf("Student"),
  CoursePage: pageOf("Course"),
  EnrolledCoursePage: pageOf("EnrolledCourse"),
  UserPage: pageOf("User"),
  NotificationPage: pageOf("Notification"),
  Lesson: record(
    {
      id: uuid,
      courseId: uuid,
      seriesId: {
        type: ["string", "null"],
        format: "uuid",
        description: "Set for a series' lessons",
      },
      title: { type: "string", minLength: 1, maxLength: MAX_LESSON_TITLE_LENGTH },
      kind: { type: "string", enum: [...LESSON_KINDS] },
      startsAt: { ...timestamp, description: "UTC" },
      endsAt: { ...timestamp, description: "UTC; after startsAt, at most 12 hours later" },
      room: {
        type: ["string", "null"],
        maxLength: MAX_ROOM_LENGTH,
        description: "Compared case-insensitively for conflicts",
      },
      teacherId: { type: ["string", "null"], format: "uuid" },
      cancelled: { type: "boolean" },
      createdAt: timestamp,
      updatedAt: timestamp,
    },
    "A lesson of a course",
  ),
  LessonPage: pageOf("Lesson"),
  LessonSeries: record(
    {
      seriesId: uuid,
      lessons: { type: "array", items: ref("Lesson"), minItems: 2, maxItems: 52 },
    },
    "A weekly series: one lesson a week, created together",
  ),
  AttendanceRecord: record(
    {
      lessonId: uuid,
      studentId: uuid,
      status: { type: "string", enum: [...ATTENDANCE_STATUSES] },
      note: { type: ["string", "null"], maxLength: MAX_NOTE_LENGTH },
      recordedAt: timestamp,
    },
    "One student's attendance at one lesson",
  ),
  AttendanceList: record(
    { rows: { type: "array", items: ref("AttendanceRecord") } },
    "A lesson's attendance records, by student id",
  ),
  StudentAttendance: record(
    {
      courses: {
        type: "array",
        items: record(
          {
            courseId: uuid,
            lessons: { type: "integer", minimum: 0, description: "Lessons with a record" },
            present: { type: "integer", minimum: 0 },
            late: { type: "integer", minimum: 0 },
            absent: { type: "integer", minimum: 0 },
            excused: { type: "integer", minimum: 0 },
            rate: {
              type: ["number", "null"],
              minimum: 0,
              maximum: 1,
              description:
                "(present + late) / (lessons − excused), two decimals; null if none count",
            },
          },
          "Attendance in one course",
        ),
      },
    },
    "A student's attendance per course",
  ),
  CalendarFeed: record(
    {
      url: {
        type: "string",
        format: "uri",
        description: "Secret: whoever holds it reads the feed",
      },
    },
    "The caller's calendar-feed URL (the previous one stops working)",
  ),
  UnreadCount: record({ count: { type: "integer", minimum: 0 } }, "Unread notifications"),
  ReadAllResult: record(
    { updated: { type: "integer", minimum: 0 } },
    "How many notifications were marked read",
  ),
  Profile: record(
    {
      userId: uuid,
      displayName: {
        type: "string",
        minLength: 1,
        maxLength: MAX_DISPLAY_NAME_LENGTH,
        description: "Until set: the local part of the account's email",
      },
      bio: { type: "string", maxLength: MAX_BIO_LENGTH, description: 'Plain text; "" until set' },
      avatarUrl: {
        type: ["string", "null"],
        format: "uri",
        maxLength: MAX_PROFILE_URL_LENGTH,
        description: "http or https only",
      },
      links: {
        type: "array",
        maxItems: MAX_LINKS,
        items: { type: "string", format: "uri", maxLength: MAX_PROFILE_URL_LENGTH },
        description: "http or https only",
      },
      updatedAt: {
        type: ["string", "null"],
        format: "date-time",
        description: "null: never changed (the defaults)",
      },
    },
    "A user's profile (every signed-in user has one, with defaults until changed)",
  ),
  AchievementList: record(
    {
      rows: {
        type: "array",
        items: record(
          {
            code: { type: "string", enum: [...ACHIEVEMENT_CODES] },
            title: { type: "string" },
            awardedAt: timestamp,
          },
          "An achievement, awarded once",
        ),
        description: "Oldest first",
      },
    },
    "A user's achievements",
  ),
  Liveness: record({ status: { const: "live" } }, "The process answers"),
  Readiness: record(
    {
      status: { type: "string", enum: ["ready", "not ready"] },
      checks: record(
        {
          transporter: { type: "boolean" },
          databases: { type: "boolean" },
          services: {
            type: "object",
            additionalProperties: { type: "boolean" },
            description: "Each service this node calls: reachable or not",
          },
        },
        "What readiness was decided from",
      ),
    },
    "Whether the node can serve requests",
  ),
  FieldError: record(
    {
      field: { type: "string" },
      message: { type: "string" },
      type: { type: "string", description: "The rule that failed" },
    },
    "Why one field was refused",
  ),
  Error: errorSchema,
  ValidationError: {
    description: "A 422 answer: `data` lists each field and why",
    allOf: [
      ref("Error"),
      {
        type: "object",
        properties: {
          type: { const: "VALIDATION_ERROR" },
          data: { type: "array", items: ref("FieldError") },
        },
      },
    ],
  },
};

// ---------------------------------------------------------------------------------------------
// What the code cannot say: per action, its summary, answer and examples
// ---------------------------------------------------------------------------------------------

interface OperationDoc {
  summary: string;
  description?: string;
  /** The success status and the schema of its body (none: no body); `text`: a non-JSON body. */
  success: {
    status: 200 | 201 | 202 | 204;
    schema?: string;
    description?: string;
    location?: boolean;
    text?: { mediaType: string; example: string };
    /** A file: its possible media types. */
    files?: string[];
  };
  /** Another success answer (e.g. 202 for a waitlisted enrollment). */
  accepted?: { status: 202; schema: string; description: string };
  /** Statuses beyond those derived from the declaration (auth, params, path ids, body). */
  errors?: Partial<Record<400 | 401 | 404 | 409 | 410 | 422 | 429 | 503, string>>;
  /** Per-parameter descriptions beyond the common ones. */
  parameters?: Record<string, string>;
  example?: Record<string, unknown>;
}

const sortable = (fields: readonly string[]) =>
  `Comma list of fields, \`-\` before one for descending. Allowed: ${fields.join(", ")}.`;

/**
 * `<service>.enroll` and `<service>.drop`: the same enrollment reached from the student's side
 * (`/students/:id/courses`) or the course's (`/courses/:id/students`), with the same answers and
 * errors, worded from that side.
 */
function enrollmentOperations(
  service: "students" | "courses",
  side: { course: string; enroller: string; notFound: string; example: Record<string, unknown> },
): Record<string, OperationDoc> {
  return {
    [`${service}.enroll`]: {
      summary: `Enroll a student in ${side.course}`,
      description: `Staff, or ${side.enroller}.`,
      success: { status: 201, schema: "Enrollment", location: true },
      accepted: {
        status: 202,
        schema: "Enrollment",
        description:
          "The course is full and its waitlist has room: the student waits (`status: waitlisted`, `position`) and is enrolled when a seat opens, in turn",
      },
      errors: {
        404: side.notFound,
        409:
          "Already enrolled or waitlisted (`ALREADY_ENROLLED`), already completed (`ALREADY_COMPLETED`), " +
          "the course and its waitlist are full (`COURSE_FULL`), or a future lesson of the course " +
          "overlaps one of the student's other courses (`SCHEDULE_CONFLICT`, the lessons in `data`)",
      },
      example: side.example,
    },
    [`${service}.drop`]: {
      summary: `Take a student out of ${side.course}`,
      description:
        "Staff, or the student themself. The enrollment is kept with status `dropped` (see its history); a freed seat goes at once to the first waitlisted student.",
      success: { status: 204 },
      errors: { 404: "The student is neither enrolled nor waitlisted in this course" },
    },
  };
}

const DUPLICATE_STUDENT_EMAIL = "A student with this email already exists (`DUPLICATE_EMAIL`)";
const DUPLICATE_COURSE_CODE = "A course with this code already exists (`DUPLICATE_COURSE_CODE`)";

const CONFLICTS =
  "The room (`ROOM_CONFLICT`) or the teacher (`TEACHER_CONFLICT`) is booked at that time; " +
  "`data.lessons` names the lessons in the way";
const RANGE =
  "`from` (default: today, UTC) and `to` (default: 30 days after `from`): a date (YYYY-MM-DD, UTC) " +
  "or a date-time with an offset; at most 366 days apart. Lessons starting in the range, by `startsAt`.";

const SCHEDULE_OPERATIONS: Record<string, OperationDoc> = {
  "schedule.createLesson": {
    summary: "Add a lesson to a course",
    description:
      "Times are ISO 8601 with an offset, stored and answered in UTC. A teacher who books a lesson teaches it " +
      "unless `teacherId` says otherwise (a teacher of the course, or null). Course staff only.",
    success: { status: 201, schema: "Lesson", location: true },
    errors: { 404: "No such course", 409: CONFLICTS },
    example: {
      startsAt: "2027-09-06T09:00:00+02:00",
      endsAt: "2027-09-06T10:30:00+02:00",
      title: "Introduction",
      kind: "lecture",
      room: "B-201",
    },
  },
  "schedule.createSeries": {
    summary: "Add a weekly series of lessons to a course",
    description:
      "One lesson a week for `weeks` weeks, all or nothing. With `timeZone` (an IANA name) each lesson keeps " +
      "the first one's local wall-clock time across daylight-saving changes; without it, the input's offset " +
      "is kept (exactly 7 × 24 hours apart). Course staff only.",
    success: { status: 201, schema: "LessonSeries", location: true },
    errors: { 404: "No such course", 409: CONFLICTS },
    example: {
      startsAt: "2027-09-07T14:00:00+02:00",
      endsAt: "2027-09-07T15:30:00+02:00",
      weeks: 12,
      timeZone: "Europe/Berlin",
      kind: "seminar",
      room: "B-202",
    },
  },
  "schedule.getLesson": {
    summary: "Get a lesson",
    description: "Students see lessons of the courses they are enrolled in.",
    success: { status: 200, schema: "Lesson" },
  },
  "schedule.updateLesson": {
    summary: "Change, reschedule or cancel a lesson",
    description:
      "Only the fields to change. A new time or room tells the enrolled students (`lesson.rescheduled`); " +
      "`cancelled: true` too (`lesson.cancelled`). Course staff only.",
    success: { status: 200, schema: "Lesson" },
    errors: { 409: CONFLICTS },
    example: { room: "B-203" },
  },
  "schedule.removeLesson": {
    summary: "Delete a lesson",
    description:
      "A lesson still to come tells its students it is cancelled. Its attendance goes with it. Course staff only.",
    success: { status: 204 },
  },
  "schedule.courseSchedule": {
    summary: "A course's lessons in a date range",
    description: `${RANGE} Staff, and the students enrolled in the course.`,
    success: { status: 200, schema: "LessonPage" },
    parameters: { from: "Start of the range", to: "End of the range (exclusive)" },
  },
  "schedule.mySchedule": {
    summary: "The caller's lessons in a date range",
    description: `A student's: the lessons of their courses; a teacher's (or an admin's): the lessons they teach. ${RANGE}`,
    success: { status: 200, schema: "LessonPage" },
    parameters: { from: "Start of the range", to: "End of the range (exclusive)" },
  },
  "schedule.recordAttendance": {
    summary: "Record attendance at a lesson",
    description:
      "Each record sets one student's status (a second PUT overwrites it). Every student must be enrolled in " +
      "the lesson's course (else 422 naming the record, and nothing is written). Course staff only.",
    success: { status: 200, schema: "AttendanceList" },
    example: { records: [{ studentId: EXAMPLE_ID, status: "present" }] },
  },
  "schedule.lessonAttendance": {
    summary: "A lesson's attendance",
    description: "Course staff only.",
    success: { status: 200, schema: "AttendanceList" },
  },
  "schedule.studentAttendance": {
    summary: "A student's attendance per course, with rates",
    description: "Staff, or the student themself.",
    success: { status: 200, schema: "StudentAttendance" },
  },
  "schedule.createFeed": {
    summary: "Get a secret calendar-feed URL of the caller's schedule",
    description:
      "An iCalendar URL a calendar app can subscribe to. A new one revokes the previous one. Only a hash of " +
      "its secret is stored.",
    success: { status: 201, schema: "CalendarFeed", location: true },
  },
  "schedule.feed": {
    summary: "The calendar feed (RFC 5545)",
    description:
      "No token needed: the URL is the credential. One `VEVENT` per lesson of the last 30 days and the next " +
      "year, with a stable `UID`, a `SEQUENCE` raised by each change, `DTSTART`/`DTEND` in UTC and " +
      "`STATUS:CANCELLED` for cancelled lessons. A revoked or unknown URL answers 404.",
    success: {
      status: 200,
      text: {
        mediaType: "text/calendar",
        example:
          "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:3fa85f64-5717-4562-b3fc-2c963f66afa6@campus\r\n" +
          "SEQUENCE:0\r\nDTSTART:20270906T070000Z\r\nDTEND:20270906T083000Z\r\nSUMMARY:Introduction\r\n" +
          "END:VEVENT\r\nEND:VCALENDAR\r\n",
      },
    },
    parameters: { token: "The secret of the feed URL" },
  },
};

export const OPERATIONS: Record<string, OperationDoc> = {
  "users.register": {
    summary: "Register as a student",
    description:
      "Creates the student record and a `student` account linked to it, and answers with a token. " +
      "Passwords: 10 to 128 characters, not the email.",
    success: { status: 201, schema: "AuthToken", location: true },
    errors: {
      409: "The email is already registered, by an account or a student record — one answer for both (`DUPLICATE_EMAIL`)",
      503: "Password hashing is busy (a bounded pool): retry after `Retry-After` seconds",
    },
    example: {
      email: "ada@example.org",
      password: "correct-horse-battery",
      firstName: "Ada",
      lastName: "Lovelace",
    },
  },
  "users.login": {
    summary: "Log in",
    description:
      "Answers an access token. A wrong email and a wrong password answer the same 401. From the " +
      "3rd failed login for an email within 15 minutes (whether or not an account has it), the " +
      "next attempt for it waits a doubling delay (429 with Retry-After, at most 60 s); an address " +
      "that logged in to the account before is slowed only by its own failures.",
    success: { status: 200, schema: "AuthToken" },
    errors: {
      401: "Wrong email or password (`INVALID_CREDENTIALS`)",
      429: "Too many attempts from this address, or too many failed logins for this email",
      503: "Password hashing is busy (a bounded pool): retry after `Retry-After` seconds",
    },
    example: { email: "ada@example.org", password: "correct-horse-battery" },
  },
  "users.me": {
    summary: "The caller's account",
    success: { status: 200, schema: "User" },
  },
  "users.list": {
    summary: "List accounts",
    success: { status: 200, schema: "UserPage" },
    parameters: { search: "Case-insensitive substring of the email", role: "Only this role" },
  },
  "users.create": {
    summary: "Create an account",
    description:
      "A `student` account needs the `studentId` of an existing student record; staff accounts " +
      "have none.",
    success: { status: 201, schema: "User", location: true },
    errors: {
      404: "No student with this `studentId`",
      409: "The email, or the student, already has an account",
    },
    example: { email: "teacher@example.org", password: "a-long-teacher-password", role: "teacher" },
  },
  "users.get": { summary: "Get an account", success: { status: 200, schema: "User" } },
  "users.update": {
    summary: "Change an account's role, password or disabled flag",
    description: "A new password or disabling the account revokes its tokens.",
    success: { status: 200, schema: "User" },
    errors: { 409: "An administrator cannot demote or disable their own account" },
    example: { role: "teacher", disabled: false },
  },
  "users.remove": {
    summary: "Delete an account",
    success: { status: 204 },
    errors: { 409: "An administrator cannot delete their own account" },
  },

  "students.list": {
    summary: "List students",
    success: { status: 200, schema: "StudentPage" },
    parameters: {
      search: "Case-insensitive substring of first name, last name or email",
      sort: sortable(STUDENT_SORT_FIELDS),
    },
  },
  "students.create": {
    summary: "Create a student",
    success: { status: 201, schema: "Student", location: true },
    errors: { 409: DUPLICATE_STUDENT_EMAIL },
    example: { firstName: "Grace", lastName: "Hopper", email: "grace@example.org" },
  },
  "students.get": {
    summary: "Get a student",
    description: "Staff, or the student themself.",
    success: { status: 200, schema: "Student" },
  },
  "students.replace": {
    summary: "Replace a student's fields",
    description: "Every editable field. A student may change their own record, but not the email.",
    success: { status: 200, schema: "Student" },
    errors: { 409: DUPLICATE_STUDENT_EMAIL },
    example: { firstName: "Grace", lastName: "Hopper", email: "grace.hopper@example.org" },
  },
  "students.update": {
    summary: "Change some of a student's fields",
    description:
      "Only the fields to change. A student may change their own record, but not the email.",
    success: { status: 200, schema: "Student" },
    errors: { 409: DUPLICATE_STUDENT_EMAIL },
    example: { lastName: "Murray Hopper" },
  },
  "students.remove": {
    summary: "Delete a student",
    description: "The student leaves every course roster; a linked account goes too.",
    success: { status: 204 },
  },
  "students.courses": {
    summary: "The courses a student is enrolled in",
    description:
      "Staff, or the student themself. Answered with data from the courses service. `status` filters the enrollments (default `active`).",
    success: { status: 200, schema: "EnrolledCoursePage" },
  },
  ...enrollmentOperations("students", {
    course: "a course",
    enroller: "the student themself",
    notFound: "No such student or course",
    example: { courseId: EXAMPLE_ID },
  }),

  "courses.list": {
    summary: "List courses",
    success: { status: 200, schema: "CoursePage" },
    parameters: {
      search: "Case-insensitive substring of code or title",
      sort: sortable(COURSE_SORT_FIELDS),
    },
  },
  "courses.create": {
    summary: "Create a course",
    description: "`endDate` must not be before `startDate`; `capacity` null means no limit.",
    success: { status: 201, schema: "Course", location: true },
    errors: { 409: DUPLICATE_COURSE_CODE },
    example: {
      code: "CS101",
      title: "Introduction to Programming",
      description: "Variables, functions and loops, in Python.",
      capacity: 30,
      startDate: "2026-09-01",
      endDate: "2026-12-18",
    },
  },
  "courses.get": { summary: "Get a course", success: { status: 200, schema: "Course" } },
  "courses.replace": {
    summary: "Replace a course's fields",
    description:
      "Every editable field: those left out are reset (no description, no limit, no dates). Course staff only (an admin, or a teacher of this course).",
    success: { status: 200, schema: "Course" },
    errors: { 409: DUPLICATE_COURSE_CODE },
    example: {
      code: "CS101",
      title: "Programming I",
      capacity: 40,
      startDate: "2026-09-01",
      endDate: "2026-12-18",
    },
  },
  "courses.update": {
    summary: "Change some of a course's fields",
    description:
      "A capacity below the students already enrolled answers 422. Course staff only (an admin, or a teacher of this course).",
    success: { status: 200, schema: "Course" },
    errors: { 409: DUPLICATE_COURSE_CODE },
    example: { capacity: 45 },
  },
  "courses.setTeachers": {
    summary: "Set a course's teachers",
    description:
      "The whole list, replacing the old one; each id must be an enabled teacher account (else 422). " +
      "Course staff only: an admin, or a teacher of this course.",
    success: { status: 200, schema: "Course" },
    example: { teacherIds: [EXAMPLE_ID] },
  },
  "courses.remove": {
    summary: "Delete a course",
    description: "Its enrollments go with it.",
    success: { status: 204 },
  },
  "courses.students": {
    summary: "The students enrolled in a course",
    description: "Answered with data from the students service.",
    success: { status: 200, schema: "StudentPage" },
  },
  "courses.waitlist": {
    summary: "A course's waitlist, in position order",
    description: "Course staff only (an admin, or a teacher of this course).",
    success: { status: 200, schema: "WaitlistPage" },
  },
  "courses.complete": {
    summary: "Complete a course",
    description:
      "Every active enrollment becomes `completed` with the student's final percent and grade from the gradebook service (null when no gradebook is running); waitlisted students are let go. Course staff only.",
    success: { status: 200, schema: "CompletionResult" },
  },
  "courses.history": {
    summary: "The history of one enrollment",
    description:
      "Every change of status, who made it (null: the system) and why. An admin, the course's teachers, or that student.",
    success: { status: 200, schema: "EnrollmentHistory" },
    errors: { 404: "No such course, or the student never enrolled in it" },
  },
  ...enrollmentOperations("courses", {
    course: "the course",
    enroller: "the student enrolling themself",
    notFound: "No such course or student",
    example: { studentId: EXAMPLE_ID },
  }),

  "quizzes.create": {
    summary: "Create a quiz (a draft) in a course",
    description:
      "Course staff only. Question types: `single_choice` (exactly one correct choice), " +
      "`multiple_choice` (partial credit: +1/k per correct choice chosen, −1/k per wrong one, floored " +
      "at 0), `number` (`|value − answer| ≤ tolerance`), `text` (equal after trimming; " +
      "case-insensitive unless `caseSensitive`). Question and choice ids are kept when given (unique), " +
      "else generated. At most 200 questions, 20 choices each, prompts of 10 000 characters.",
    success: { status: 201, schema: "Quiz", location: true },
    errors: { 404: "No such course" },
    example: {
      title: "Week 1 check",
      timeLimitSeconds: 900,
      maxAttempts: 2,
      shuffle: true,
      questions: [
        {
          id: "capital",
          type: "single_choice",
          prompt: "The capital of France?",
          points: 2,
          choices: [
            { id: "paris", text: "Paris", correct: true },
            { id: "lyon", text: "Lyon" },
          ],
        },
        { id: "pi", type: "number", prompt: "Pi to two decimals?", answer: 3.14, tolerance: 0.01 },
        { id: "author", type: "text", prompt: "Who wrote Hamlet?", answer: "Shakespeare" },
      ],
    },
  },
  "quizzes.listOfCourse": {
    summary: "The quizzes of a course",
    description:
      "Course staff: every quiz, with answers. Enrolled students: the published ones, without answers.",
    success: { status: 200, schema: "QuizPage" },
  },
  "quizzes.get": {
    summary: "Get a quiz",
    description:
      "Course staff see the answers; an enrolled student sees a published quiz without them (a draft: 404).",
    success: { status: 200, schema: "Quiz" },
  },
  "quizzes.update": {
    summary: "Change a quiz (only the fields given)",
    description:
      "Once an attempt exists the questions are frozen: changing them answers 409 QUIZ_HAS_ATTEMPTS.",
    success: { status: 200, schema: "Quiz" },
    errors: { 409: "QUIZ_HAS_ATTEMPTS: the questions of a quiz with attempts cannot change" },
    example: { title: "Week 1 check (revised)", maxAttempts: 3 },
  },
  "quizzes.remove": {
    summary: "Delete a quiz",
    description: "Only a quiz without attempts: their scores are in the gradebook.",
    success: { status: 204 },
    errors: { 409: "QUIZ_HAS_ATTEMPTS: the quiz has attempts" },
  },
  "quizzes.publish": {
    summary: "Publish a quiz",
    description: "Enrolled students can then see it and start attempts while it is open.",
    success: { status: 200, schema: "Quiz" },
  },
  "quizzes.startAttempt": {
    summary: "Start an attempt",
    description:
      "An enrolled student, while the quiz is open and within `maxAttempts`. The attempt's questions " +
      "come without answers, in its own order when the quiz shuffles. The deadline is kept by the server.",
    success: { status: 201, schema: "Attempt", location: true },
    errors: { 409: "QUIZ_CLOSED (outside opensAt..closesAt) or NO_ATTEMPTS_LEFT" },
  },
  "quizzes.submitAttempt": {
    summary: "Submit an attempt's answers",
    description:
      "The attempt's student, once. Every question is scored (unanswered: 0); the answer shows the " +
      "points per question and the correct answers. Past the deadline plus 5 s: 409 ATTEMPT_EXPIRED.",
    success: { status: 200, schema: "Attempt" },
    errors: {
      404: "No such quiz, or no such attempt of the caller's",
      409: "ALREADY_SUBMITTED or ATTEMPT_EXPIRED",
      422: "An answer to a question not in the attempt, a choice of another question, a value that is not a number, …",
    },
    example: {
      answers: [
        { questionId: "capital", choiceIds: ["paris"] },
        { questionId: "pi", value: 3.14 },
        { questionId: "author", text: "shakespeare" },
      ],
    },
  },
  "quizzes.attempts": {
    summary: "Attempts at a quiz",
    description: "Course staff: every attempt. A student: their own.",
    success: { status: 200, schema: "AttemptPage" },
  },
  "quizzes.attempt": {
    summary: "Get one attempt",
    description: "Course staff, or the attempt's student (another student's answers 404).",
    success: { status: 200, schema: "Attempt" },
  },

  "profiles.me": {
    summary: "The caller's profile",
    description:
      "Every signed-in user has one: until changed, the display name is the local part of the " +
      "account's email, the bio empty, no avatar and no links (`updatedAt` null).",
    success: { status: 200, schema: "Profile" },
  },
  "profiles.updateMe": {
    summary: "Change the caller's profile (only the fields given)",
    description:
      "`avatarUrl` (null removes it) and each of at most 5 `links` must be absolute http or https " +
      "URLs (`javascript:`, `data:` and the like: 422), at most 2048 characters; they are stored as " +
      "the WHATWG URL parser writes them. An unknown field is refused (422 naming it), not ignored.",
    success: { status: 200, schema: "Profile" },
    example: {
      displayName: "Ada L.",
      bio: "Mathematician.",
      avatarUrl: "https://example.org/ada.png",
      links: ["https://example.org/ada"],
    },
  },
  "profiles.achievements": {
    summary: "A user's achievements",
    description:
      "Any signed-in user may read anyone's. An unknown user answers 200 with no rows, as a user " +
      "without achievements does, so the answer tells nobody whether an account exists. Awarded " +
      "from events, once each: `first_submission` (an assignment turned in), `perfect_quiz` (a quiz " +
      "attempt with every point), `full_attendance` (a completed course, every recorded lesson " +
      "present, late or excused).",
    success: { status: 200, schema: "AchievementList" },
  },
  "reports.request": {
    summary: "Request a report (made in the background)",
    description:
      "`course_performance` (per student: percent, grade, attendance; grade distribution chart) and " +
      "`attendance` (per lesson and student) need `courseId` and the course's staff; " +
      "`student_progress` (per course: grades, attendance, submissions) needs `studentId` — a " +
      "student may leave it out for their own. A worker makes the file from a durable queue; poll " +
      `the Location. At most ${MAX_ACTIVE_JOBS_PER_USER} queued or running reports per user (429); ` +
      `at most ${MAX_REPORT_ROWS} rows (422 \`REPORT_TOO_LARGE\`). The requester is notified when it is done.`,
    success: { status: 202, schema: "Report", location: true },
    errors: {
      404: "No such course or student",
      422: "Unknown type or format, a missing courseId, or `REPORT_TOO_LARGE`",
      429: "Too many of the caller's reports queued or running, or the rate limit",
    },
    example: { type: "course_performance", format: "pdf", courseId: EXAMPLE_ID },
  },
  "reports.list": {
    summary: "The caller's reports, newest first (an admin: everyone's)",
    success: { status: 200, schema: "ReportPage" },
  },
  "reports.get": {
    summary: "A report's status and progress",
    description: "Who asked for it, or an admin.",
    success: { status: 200, schema: "Report" },
  },
  "reports.download": {
    summary: "Download a report's file",
    description: `Who asked for it, or an admin. Files are kept ${REPORT_RETENTION_DAYS} days.`,
    success: { status: 200, files: Object.values(CONTENT_TYPES) },
    errors: {
      409: "`REPORT_NOT_READY` (queued or running) or `REPORT_FAILED`",
      410: `\`REPORT_EXPIRED\`: made more than ${REPORT_RETENTION_DAYS} days ago; regenerate it`,
    },
  },
  "reports.regenerate": {
    summary: "Make a report again (e.g. after it expired or failed)",
    description: "Who asked for it, or an admin; counts toward the requester's limit.",
    success: { status: 202, schema: "Report", location: true },
    errors: { 409: "`REPORT_IN_PROGRESS`: it is queued or running" },
  },

  "notifications.list": {
    summary: "The caller's notifications, newest first",
    success: { status: 200, schema: "NotificationPage" },
    parameters: { unread: "true: only unread ones; false: only read ones" },
  },
  "notifications.unreadCount": {
    summary: "How many of the caller's notifications are unread",
    success: { status: 200, schema: "UnreadCount" },
  },
  "notifications.markRead": {
    summary: "Mark one of the caller's notifications read",
    description: "Someone else's notification answers 404, as an unknown id does.",
    success: { status: 200, schema: "Notification" },
  },
  "notifications.markAllRead": {
    summary: "Mark all the caller's notifications read",
    success: { status: 200, schema: "ReadAllResult" },
  },

  ...SCHEDULE_OPERATIONS,
  "assignments.create": {
    summary: "Add an assignment to a course",
    description:
      "Course staff only. `dueAt` is ISO 8601 with an offset. With a grading policy set, " +
      "`category` must be one of its categories (else 422).",
    success: { status: 201, schema: "Assignment", location: true },
    example: {
      title: "Essay 1",
      dueAt: "2030-12-24T23:59:00+01:00",
      maxPoints: 10,
      category: "homework",
      published: true,
      latePenaltyPercentPerDay: 10,
      lateDaysAllowed: 3,
    },
  },
  "assignments.list": {
    summary: "A course's assignments, by due time",
    description: "Course staff see all; enrolled students the published ones.",
    success: { status: 200, schema: "AssignmentPage" },
  },
  "assignments.get": {
    summary: "Get an assignment",
    description: "Course staff; enrolled students for a published one (a draft answers 404).",
    success: { status: 200, schema: "Assignment" },
  },
  "assignments.update": {
    summary: "Change an assignment",
    description:
      "Course staff only. Graded work is recomputed (late days, penalty) and re-recorded in the " +
      "gradebook; maxPoints below points already given: 422.",
    success: { status: 200, schema: "Assignment" },
  },
  "assignments.remove": {
    summary: "Delete an assignment",
    description: "Its submissions go with it; the gradebook drops the item.",
    success: { status: 204 },
  },
  "assignments.submit": {
    summary: "Turn in (or replace) the caller's submission",
    description:
      "An enrolled student. Late submissions are taken for `lateDaysAllowed` days after `dueAt` " +
      "(days rounded up) and lose the late penalty when graded.",
    success: { status: 200, schema: "Submission" },
    errors: {
      409: "After the late window, or once graded (`SUBMISSION_CLOSED`)",
    },
    example: { body: "My answer…" },
  },
  "assignments.submissions": {
    summary: "An assignment's submissions",
    success: { status: 200, schema: "SubmissionPage" },
  },
  "assignments.submission": {
    summary: "One student's submission",
    description: "Course staff, or that student.",
    success: { status: 200, schema: "Submission" },
  },
  "assignments.grade": {
    summary: "Grade a submission (or re-grade it)",
    description:
      "Course staff. `points` 0..maxPoints; the late penalty is applied to give `finalPoints`. " +
      "The student is notified and the gradebook updated (durable events).",
    success: { status: 200, schema: "Submission" },
    errors: {
      409: "The student has not submitted (`NOT_SUBMITTED`): only submitted work is graded",
    },
    example: { points: 8.5, feedback: "Good structure." },
  },
  "gradebook.courseGradebook": {
    summary: "A course's gradebook (JSON, or CSV with `Accept: text/csv`)",
    description:
      "Course staff. One row per enrolled or graded student. The CSV is UTF-8 with a BOM, CRLF " +
      "line ends, RFC 4180 quoting; text starting with =, +, -, @, tab or CR gets a leading '.",
    success: { status: 200, schema: "Gradebook" },
  },
  "gradebook.studentGrades": {
    summary: "A student's grades per course",
    description:
      "Admin, that student, or a teacher (only the courses they teach; another course: 403).",
    success: { status: 200, schema: "StudentGrades" },
    parameters: { courseId: "Only this course" },
  },
  "gradebook.setGrading": {
    summary: "Set a course's grading policy",
    description:
      "Course staff. Categories weigh relatively (renormalised over those with a graded item); " +
      "`dropLowest` leaves out a category's lowest item percents. Default scale: " +
      DEFAULT_SCALE.map((step) => `${step.grade} at ≥ ${step.minPercent} %`).join(", ") +
      ". Every category the course's items use must be named (else 422).",
    success: { status: 200, schema: "GradingPolicy" },
    example: {
      categories: [
        { name: "homework", weight: 40, dropLowest: 1 },
        { name: "exams", weight: 60 },
      ],
      scale: [
        { grade: "A", minPercent: 90 },
        { grade: "B", minPercent: 75 },
        { grade: "C", minPercent: 0 },
      ],
    },
  },
};

const COMMON_PARAMETERS: Record<string, string> = {
  id: "The record's id (a UUID; anything else answers 404)",
  courseId: "The course's id",
  attemptId: "The attempt's id",
  studentId: "The student's id",
  userId: "The user's (account's) id",
  page: "Page number, from 1",
  pageSize: `Rows per page, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})`,
};

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

interface ActionDeclaration {
  rest?: unknown;
  params?: Record<string, unknown>;
  permissions?: readonly string[];
}

export interface DocumentedService {
  name: string;
  actions?: Record<string, unknown>;
}

/** A gateway route as the document needs it: its path and its `"METHOD path": action` aliases. */
export interface DocumentedRoute {
  path: string;
  aliases: Record<string, unknown>;
}

type Operation = JsonSchema;

function joinPath(base: string, path: string): string {
  const joined = `/${base}/${path}`.replace(/\/+/g, "/");
  return joined.length > 1 ? joined.replace(/\/$/, "") : joined;
}

function jsonContent(schema: JsonSchema, extra: JsonSchema = {}): JsonSchema {
  return { "application/json": { schema, ...extra } };
}

const RETRY_AFTER = {
  "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" } },
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Malformed JSON body, a body that cannot be decoded (`MALFORMED_BODY`), or URL parameter",
  401: "No token, or a token that is malformed, expired, wrongly signed or revoked",
  403: "Authenticated, but not allowed to do this",
  404: "No such record",
  409: "Conflicts with the current state",
  410: "Gone for good",
  413: "The body is larger than the limit (100 KiB by default)",
  415: "Unsupported `Content-Encoding` (gzip, deflate and br are read) or charset",
  422: "Validation failed: `data` lists each field and why",
  429: "Rate limit hit: retry after `Retry-After` seconds",
  503: "A service this request needs is down or its circuit is open: retry after `Retry-After` seconds",
};

function errorResponse(status: number, description?: string): JsonSchema {
  const response: JsonSchema = {
    description: description ?? ERROR_DESCRIPTIONS[status],
    content: jsonContent(ref(status === 422 ? "ValidationError" : "Error")),
  };
  if (status === 429 || status === 503) response.headers = RETRY_AFTER;
  return response;
}

function successResponse(doc: OperationDoc["success"]): JsonSchema {
  const description =
    doc.description ??
    (
      { 204: "Done; no body", 201: "Created", 202: "Accepted: it is being done" } as Record<
        number,
        string
      >
    )[doc.status] ??
    "OK";
  const response: JsonSchema = { description };
  if (doc.schema) response.content = jsonContent(ref(doc.schema));
  if (doc.text) {
    response.content = {
      [doc.text.mediaType]: { schema: { type: "string" }, example: doc.text.example },
    };
  }
  if (doc.files) {
    response.content = Object.fromEntries(
      doc.files.map((mediaType) => [
        mediaType,
        { schema: { type: "string", contentMediaType: mediaType } },
      ]),
    );
    response.headers = {
      "Content-Disposition": {
        description: '`attachment; filename="…"`',
        schema: { type: "string" },
      },
    };
  }
  if (doc.location) {
    response.headers = {
      Location: { description: "Where the resource is", schema: { type: "string" } },
    };
  }
  return response;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function operation(
  method: string,
  path: string,
  actionName: string,
  action: ActionDeclaration,
): Operation {
  const doc: OperationDoc = OPERATIONS[actionName] ?? {
    summary: `${method} ${path}`,
    success: { status: 200 },
  };
  const params = action.params ?? {};
  const pathParams = [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]);
  const hasBody = method === "POST" || method === "PUT" || method === "PATCH";
  const permissions = action.permissions ?? [];
  const open = permissions.includes("$anyone");
  const describe = (name: string) => doc.parameters?.[name] ?? COMMON_PARAMETERS[name];

  const parameters: JsonSchema[] = pathParams.map((name) => ({
    name,
    in: "path",
    required: true,
    description: describe(name),
    schema: params[name] !== undefined ? fastestToJsonSchema(params[name]) : { type: "string" },
    example: EXAMPLE_ID,
  }));
  const input = paramsToJsonSchema(params, pathParams);
  const inputProperties = input.properties as Record<string, JsonSchema>;
  const hasInput = Object.keys(inputProperties).length > 0;
  if (!hasBody) {
    for (const [name, schema] of Object.entries(inputProperties)) {
      parameters.push({
        name,
        in: "query",
        required: ((input.required as string[] | undefined) ?? []).includes(name),
        ...(describe(name) ? { description: describe(name) } : {}),
        schema,
      });
    }
  }

  const descriptionParts = [doc.description];
  if (!open && permissions.length > 0) descriptionParts.push(`Who: ${permissions.join(", ")}.`);
  const result: Operation = {
    operationId: actionName,
    tags: [path.startsWith("/api/auth/") ? "Auth" : capitalize(actionName.split(".")[0])],
    summary: doc.summary,
  };
  const description = descriptionParts.filter(Boolean).join(" ");
  if (description) result.description = description;
  if (open) result.security = [];
  if (parameters.length > 0) result.parameters = parameters;
  if (hasBody && hasInput) {
    result.requestBody = {
      required: input.required !== undefined,
      content: jsonContent(input, doc.example ? { example: doc.example } : {}),
    };
  }

  const responses: Record<string, JsonSchema> = {
    [String(doc.success.status)]: successResponse(doc.success),
  };
  if (doc.accepted) {
    responses[String(doc.accepted.status)] = {
      description: doc.accepted.description,
      content: jsonContent(ref(doc.accepted.schema)),
    };
  }
  const errors = new Map<number, string | undefined>();
  if (hasBody || hasInput || pathParams.length > 0) errors.set(400, undefined);
  if (!open) {
    errors.set(401, undefined);
    errors.set(403, undefined);
  }
  if (pathParams.length > 0) errors.set(404, undefined);
  if (hasBody) {
    errors.set(413, undefined);
    errors.set(415, undefined);
  }
  if (Object.keys(params).some((name) => !name.startsWith("$$"))) errors.set(422, undefined);
  errors.set(429, undefined);
  errors.set(503, undefined);
  for (const [status, text] of Object.entries(doc.errors ?? {})) errors.set(Number(status), text);
  for (const status of [...errors.keys()].sort((a, b) => a - b)) {
    responses[String(status)] = errorResponse(status, errors.get(status));
  }
  result.responses = responses;
  return result;
}

const HEALTH_PATHS: Record<string, JsonSchema> = {
  "/health/live": {
    get: {
      operationId: "health.live",
      tags: ["Health"],
      summary: "Liveness: the process answers",
      security: [],
      responses: { "200": { description: "Live", content: jsonContent(ref("Liveness")) } },
    },
  },
  "/health/ready": {
    get: {
      operationId: "health.ready",
      tags: ["Health"],
      summary: "Readiness: broker connected, databases answer, needed services reachable",
      security: [],
      responses: {
        "200": { description: "Ready", content: jsonContent(ref("Readiness")) },
        "503": { description: "Not ready", content: jsonContent(ref("Readiness")) },
      },
    },
  },
};

const DOCUMENT_PATH: JsonSchema = {
  "/openapi.json": {
    get: {
      operationId: "docs.openapi",
      tags: ["Documentation"],
      summary: "This document",
      description: "Interactive documentation of it is served at `/docs`.",
      security: [],
      responses: {
        "200": {
          description: "The OpenAPI 3.1 document",
          content: jsonContent({ type: "object" }),
        },
      },
    },
  },
};

const API_DESCRIPTION = `The HTTP API of Campus: students, courses, the enrollments that join them, user accounts,
notifications, the schedule (lessons, attendance, calendar feeds) and reports made in the background
(PDF, XLSX, CSV). Generated at start-up from the services' own route, parameter and permission
declarations.

**Authentication.** \`POST /api/auth/login\` (or \`/api/auth/register\`) answers an \`accessToken\`;
send it as \`Authorization: Bearer <token>\` (the *Authorize* button here). A missing or bad token
answers 401; a valid token without the right role, or for someone else's record, 403.

**Errors** have one body, \`{name, message, code, type, data?}\`: \`code\` is the HTTP status, \`type\`
an UPPER_SNAKE_CASE name for programs; a 422's \`data\` lists each field and why. On any
endpoint, a URL over ${MAX_URL_LENGTH} characters answers 414 \`URI_TOO_LONG\` and headers over 16 KiB
431 \`HEADERS_TOO_LARGE\`.

**Pages** answer \`{rows, total, page, pageSize, totalPages}\`. Unknown query parameters are ignored.

Every request may carry \`X-Request-ID\`; the answer echoes it.`;

/**
 * The whole document: the gateway's routes (each `"METHOD path": "service.action"` alias, looked
 * up in `services` for its params and permissions), plus the health and document endpoints.
 */
export function openApiDocument(
  routes: readonly DocumentedRoute[],
  services: readonly DocumentedService[],
): JsonSchema {
  const actions = new Map<string, ActionDeclaration>();
  for (const service of services) {
    for (const [name, action] of Object.entries(service.actions ?? {})) {
      if (action && typeof action === "object") {
        actions.set(`${service.name}.${name}`, action as ActionDeclaration);
      }
    }
  }

  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of routes) {
    for (const [alias, target] of Object.entries(route.aliases)) {
      if (typeof target !== "string") continue;
      const [method, aliasPath = "/"] = alias.trim().split(/\s+/);
      const path = joinPath(route.path, aliasPath);
      const upper = method.toUpperCase();
      const openApiPath = path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      paths[openApiPath] ??= {};
      paths[openApiPath][upper.toLowerCase()] = operation(
        upper,
        path,
        target,
        actions.get(target) ?? {},
      );
    }
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Campus API",
      version,
      description: API_DESCRIPTION,
      license: { name: "MIT", identifier: "MIT" },
    },
    tags: [
      { name: "Auth", description: "Registration, login and the caller's account" },
      { name: "Students", description: "Student records and their enrollments" },
      { name: "Courses", description: "Courses and their rosters" },
      { name: "Users", description: "Account management (admin only)" },
      { name: "Notifications", description: "The caller's own notifications" },
      {
        name: "Schedule",
        description: "Lessons, attendance, the caller's schedule and its calendar feed",
      },
      { name: "Assignments", description: "Assignments, submissions, late policy and grading" },
      { name: "Gradebook", description: "Course gradebooks, students' grades, grading policies" },
      { name: "Reports", description: "Reports (PDF, XLSX, CSV) made in the background" },
      { name: "Health", description: "Liveness and readiness of the node" },
      { name: "Documentation", description: "This document" },
    ],
    security: [{ bearerAuth: [] }],
    paths: { ...paths, ...HEALTH_PATHS, ...DOCUMENT_PATH },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The `accessToken` of `POST /api/auth/login` or `/api/auth/register`",
        },
      },
      schemas: COMPONENT_SCHEMAS,
    },
  };
}
