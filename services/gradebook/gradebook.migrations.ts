import type { Migration } from "../../lib/database";

export const gradebookMigrations: Migration[] = [
  {
    name: "001-create-gradebook",
    // Built from grade events only. Each row keeps the time of the information it holds
    // (version / recorded_at): an event older than, or as old as, what is stored changes nothing,
    // so replays and duplicates are harmless. A deleted item stays as a tombstone.
    sql: (schema) => `
        CREATE TABLE "${schema}".items (
          item_id uuid PRIMARY KEY,
          course_id uuid NOT NULL,
          source varchar(20) NOT NULL,
          title varchar(200) NOT NULL,
          category varchar(50) NOT NULL,
          max_points double precision NOT NULL,
          version timestamptz NOT NULL,
          deleted boolean NOT NULL DEFAULT false
        );
        CREATE INDEX items_course_idx ON "${schema}".items (course_id);
        CREATE TABLE "${schema}".grades (
          item_id uuid NOT NULL,
          student_id uuid NOT NULL,
          course_id uuid NOT NULL,
          points double precision NOT NULL,
          recorded_at timestamptz NOT NULL,
          event_id uuid NOT NULL,
          CONSTRAINT grades_pkey PRIMARY KEY (item_id, student_id)
        );
        CREATE INDEX grades_course_idx ON "${schema}".grades (course_id, student_id);
        CREATE INDEX grades_student_idx ON "${schema}".grades (student_id, course_id);
        CREATE TABLE "${schema}".policies (
          course_id uuid PRIMARY KEY,
          categories jsonb NOT NULL,
          scale jsonb NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT now()
        );
      `,
  },
];
