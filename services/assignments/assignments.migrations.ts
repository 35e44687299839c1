import { RECORD_ID, RECORD_TIMESTAMPS, type Migration } from "../../lib/database";
import { outboxMigration } from "../../lib/outbox";

export const assignmentsMigrations: Migration[] = [
  {
    name: "001-create-assignments-and-submissions",
    // course_id names another service's record: no foreign key across databases.
    sql: (schema) => `
        CREATE TABLE "${schema}".assignments (
          ${RECORD_ID},
          course_id uuid NOT NULL,
          title varchar(200) NOT NULL,
          description text NOT NULL DEFAULT '',
          due_at timestamptz NOT NULL,
          max_points double precision NOT NULL CHECK (max_points > 0),
          category varchar(50) NOT NULL,
          published boolean NOT NULL DEFAULT false,
          late_penalty_percent_per_day double precision NOT NULL DEFAULT 0
            CHECK (late_penalty_percent_per_day BETWEEN 0 AND 100),
          late_days_allowed integer NOT NULL DEFAULT 0 CHECK (late_days_allowed BETWEEN 0 AND 30),
          ${RECORD_TIMESTAMPS}
        );
        CREATE INDEX assignments_course_idx ON "${schema}".assignments (course_id, due_at, id);
        CREATE TABLE "${schema}".submissions (
          assignment_id uuid NOT NULL REFERENCES "${schema}".assignments (id) ON DELETE CASCADE,
          student_id uuid NOT NULL,
          body text NOT NULL CHECK (length(body) BETWEEN 1 AND 100000),
          state varchar(16) NOT NULL CHECK (state IN ('turned_in', 'graded')),
          submitted_at timestamptz NOT NULL,
          late boolean NOT NULL,
          days_late integer NOT NULL CHECK (days_late >= 0),
          points double precision CHECK (points >= 0),
          penalty_points double precision NOT NULL DEFAULT 0,
          final_points double precision CHECK (final_points >= 0),
          feedback text,
          graded_at timestamptz,
          CONSTRAINT submissions_pkey PRIMARY KEY (assignment_id, student_id)
        );
      `,
  },
  outboxMigration("002-create-outbox"),
];
