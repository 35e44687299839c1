import { RECORD_ID, RECORD_TIMESTAMPS, type Migration } from "../../lib/database";
import { outboxMigration } from "../../lib/outbox";

export const scheduleMigrations: Migration[] = [
  {
    // Double bookings are refused by the database itself (exclusion constraints over time
    // ranges), so two concurrent bookings of one room or teacher cannot both commit.
    name: "001-create-lessons-attendance-feeds",
    sql: (schema) => `
        CREATE EXTENSION IF NOT EXISTS btree_gist;
        CREATE TABLE "${schema}".lessons (
          ${RECORD_ID},
          course_id uuid NOT NULL,
          series_id uuid,
          title varchar(200) NOT NULL,
          kind varchar(16) NOT NULL DEFAULT 'lecture'
            CHECK (kind IN ('lecture', 'seminar', 'lab', 'exam')),
          starts_at timestamptz NOT NULL,
          ends_at timestamptz NOT NULL,
          room varchar(64),
          teacher_id uuid,
          cancelled boolean NOT NULL DEFAULT false,
          sequence integer NOT NULL DEFAULT 0,
          ${RECORD_TIMESTAMPS},
          CONSTRAINT lessons_times_ordered CHECK (ends_at > starts_at),
          CONSTRAINT lessons_at_most_12_hours CHECK (ends_at - starts_at <= interval '12 hours'),
          CONSTRAINT lessons_room_overlap EXCLUDE USING gist
            (lower(room) WITH =, tstzrange(starts_at, ends_at) WITH &&)
            WHERE (NOT cancelled AND room IS NOT NULL),
          CONSTRAINT lessons_teacher_overlap EXCLUDE USING gist
            (teacher_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
            WHERE (NOT cancelled AND teacher_id IS NOT NULL)
        );
        CREATE INDEX lessons_course_idx ON "${schema}".lessons (course_id, starts_at);
        CREATE INDEX lessons_teacher_idx ON "${schema}".lessons (teacher_id, starts_at);
        CREATE TABLE "${schema}".attendance (
          lesson_id uuid NOT NULL REFERENCES "${schema}".lessons (id) ON DELETE CASCADE,
          student_id uuid NOT NULL,
          course_id uuid NOT NULL,
          status varchar(16) NOT NULL CHECK (status IN ('present', 'late', 'absent', 'excused')),
          note varchar(500),
          recorded_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT attendance_pkey PRIMARY KEY (lesson_id, student_id)
        );
        CREATE INDEX attendance_student_idx ON "${schema}".attendance (student_id, course_id);
        CREATE TABLE "${schema}".feed_tokens (
          user_id uuid PRIMARY KEY,
          token_hash char(64) NOT NULL UNIQUE,
          created_at timestamptz NOT NULL DEFAULT now()
        );
      `,
  },
  outboxMigration("002-create-outbox"),
];
