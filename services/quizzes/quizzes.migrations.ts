import { RECORD_ID, RECORD_TIMESTAMPS, type Migration } from "../../lib/database";
import { outboxMigration } from "../../lib/outbox";

export const quizzesMigrations: Migration[] = [
  {
    name: "001-create-quizzes-and-attempts",
    // (quiz, student, number) is unique: of two simultaneous starts for the last attempt, one
    // insert fails. `ON DELETE RESTRICT`: a quiz with attempts cannot be deleted, even by a race.
    sql: (schema) => `
        CREATE TABLE "${schema}".quizzes (
          ${RECORD_ID},
          course_id uuid NOT NULL,
          title varchar(200) NOT NULL,
          questions jsonb NOT NULL,
          max_points numeric(12, 2) NOT NULL CHECK (max_points > 0),
          time_limit_seconds integer CHECK (time_limit_seconds IS NULL OR time_limit_seconds > 0),
          max_attempts integer NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
          opens_at timestamptz,
          closes_at timestamptz,
          shuffle boolean NOT NULL DEFAULT false,
          published boolean NOT NULL DEFAULT false,
          ${RECORD_TIMESTAMPS},
          CONSTRAINT quizzes_window_ordered CHECK (opens_at IS NULL OR closes_at IS NULL OR closes_at > opens_at)
        );
        CREATE INDEX quizzes_course_idx ON "${schema}".quizzes (course_id, created_at);
        CREATE TABLE "${schema}".attempts (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          quiz_id uuid NOT NULL REFERENCES "${schema}".quizzes (id) ON DELETE RESTRICT,
          student_id uuid NOT NULL,
          number integer NOT NULL CHECK (number >= 1),
          question_order jsonb NOT NULL,
          started_at timestamptz NOT NULL DEFAULT now(),
          deadline timestamptz,
          submitted_at timestamptz,
          expired boolean NOT NULL DEFAULT false,
          answers jsonb,
          score numeric(12, 2),
          results jsonb,
          CONSTRAINT attempts_quiz_student_number_key UNIQUE (quiz_id, student_id, number),
          CONSTRAINT attempts_scored_when_submitted CHECK ((submitted_at IS NULL) = (score IS NULL))
        );
        CREATE INDEX attempts_quiz_started_idx ON "${schema}".attempts (quiz_id, started_at);
      `,
  },
  outboxMigration("002-create-outbox"),
];
