import type { Migration } from "../../lib/database";
import { outboxMigration } from "../../lib/outbox";

export const coursesMigrations: Migration[] = [
  {
    name: "001-create-courses-and-enrollments",
    async up(queryInterface, schema) {
      await queryInterface.sequelize.query(`
        CREATE TABLE "${schema}".courses (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          code varchar(32) NOT NULL,
          title varchar(200) NOT NULL,
          description text NOT NULL DEFAULT '',
          capacity integer CHECK (capacity IS NULL OR capacity >= 1),
          enrolled_count integer NOT NULL DEFAULT 0 CHECK (enrolled_count >= 0),
          start_date date,
          end_date date,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
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
      `);
    },
  },
  outboxMigration("002-create-outbox"),
  {
    // Course teachers: user ids of teacher accounts (another service's ids, so no foreign key).
    name: "003-course-teachers",
    async up(queryInterface, schema) {
      await queryInterface.sequelize.query(`
        ALTER TABLE "${schema}".courses ADD COLUMN teacher_ids uuid[] NOT NULL DEFAULT '{}';
        CREATE INDEX courses_teacher_ids_idx ON "${schema}".courses USING gin (teacher_ids);
      `);
    },
  },
];
