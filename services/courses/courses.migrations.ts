import { RECORD_ID, RECORD_TIMESTAMPS, type Migration } from "../../lib/database";
import { idempotencyMigration } from "../../lib/idempotency";
import { outboxMigration } from "../../lib/outbox";

export const coursesMigrations: Migration[] = [
  {
    name: "001-create-courses-and-enrollments",
    sql: (schema) => `
        CREATE TABLE "${schema}".courses (
          ${RECORD_ID},
          code varchar(32) NOT NULL,
          title varchar(200) NOT NULL,
          description text NOT NULL DEFAULT '',
          capacity integer CHECK (capacity IS NULL OR capacity >= 1),
          enrolled_count integer NOT NULL DEFAULT 0 CHECK (enrolled_count >= 0),
          start_date date,
          end_date date,
          ${RECORD_TIMESTAMPS},
          CONSTRAINT courses_dates_ordered CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
          CONSTRAINT courses_within_capacity CHECK (capacity IS NULL OR enrolled_count <= capacity)
        );
        CREATE UNIQUE INDEX courses_code_key ON "${schema}".courses (lower(code));
        CREATE TABLE "${schema}".enrollments (
          course_id uuid NOT NULL REFERENCES "${schema}".courses (id) ON DELETE CASCADE,
          student_id uuid NOT NULL,
          enrolled_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT enrollments_pkey PRIMARY KEY (course_id, student_id)
        );
        CREATE INDEX enrollments_student_idx ON "${schema}".enrollments (student_id, enrolled_at);
      `,
  },
  outboxMigration("002-create-outbox"),
  {
    // Course teachers: user ids of teacher accounts (another service's ids, so no foreign key).
    name: "003-course-teachers",
    sql: (schema) => `
        ALTER TABLE "${schema}".courses ADD COLUMN teacher_ids uuid[] NOT NULL DEFAULT '{}';
        CREATE INDEX courses_teacher_ids_idx ON "${schema}".courses USING gin (teacher_ids);
      `,
  },
  {
    // The enrollment lifecycle: a status per enrollment (dropped rows are kept, so the primary
    // key (course_id, student_id) holds one row per student and course, which a re-enrollment
    // brings back), a waitlist with dense positions, the final result of a completed course, and
    // the history of every change of status.
    name: "004-enrollment-lifecycle",
    sql: (schema) => `
        ALTER TABLE "${schema}".enrollments
          ADD COLUMN status varchar(16) NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'waitlisted', 'dropped', 'completed')),
          ADD COLUMN position integer CHECK (position IS NULL OR position >= 1),
          ADD COLUMN final_percent numeric(5, 2),
          ADD COLUMN final_grade varchar(16),
          ADD COLUMN status_changed_at timestamptz NOT NULL DEFAULT now(),
          ADD CONSTRAINT enrollments_position_iff_waitlisted
            CHECK ((status = 'waitlisted') = (position IS NOT NULL));
        CREATE INDEX enrollments_waitlist_idx ON "${schema}".enrollments (course_id, position)
          WHERE status = 'waitlisted';
        CREATE INDEX enrollments_course_status_idx ON "${schema}".enrollments (course_id, status);
        ALTER TABLE "${schema}".courses
          ADD COLUMN waitlist_capacity integer NOT NULL DEFAULT 0 CHECK (waitlist_capacity >= 0),
          ADD COLUMN waitlisted_count integer NOT NULL DEFAULT 0 CHECK (waitlisted_count >= 0);
        CREATE TABLE "${schema}".enrollment_history (
          id bigserial PRIMARY KEY,
          course_id uuid NOT NULL,
          student_id uuid NOT NULL,
          from_status varchar(16),
          to_status varchar(16) NOT NULL,
          at timestamptz NOT NULL DEFAULT clock_timestamp(),
          by_user uuid,
          reason text NOT NULL
        );
        CREATE INDEX enrollment_history_idx
          ON "${schema}".enrollment_history (course_id, student_id, id);
        INSERT INTO "${schema}".enrollment_history (course_id, student_id, from_status, to_status, at, reason)
          SELECT course_id, student_id, NULL, 'active', enrolled_at, 'enrolled before the history was kept'
          FROM "${schema}".enrollments;
      `,
  },
  idempotencyMigration("005-create-idempotent-writes"),
  {
    // The list's default order (code, id): a page walks the index, not a sort.
    name: "006-index-default-order",
    sql: (schema) => `
        CREATE INDEX courses_code_order_idx ON "${schema}".courses (code, id);
      `,
  },
];
