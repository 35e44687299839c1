import type { Migration } from "../../lib/database";
import { outboxMigration } from "../../lib/outbox";

export const reportsMigrations: Migration[] = [
  {
    name: "001-create-reports",
    // A job is claimed by one worker at a time: `attempt` numbers the claims and
    // `lease_until` says until when the claim holds (renewed while the worker makes progress).
    // The file lives apart, so lists never read it; it is deleted when it expires.
    sql: (schema) => `
        CREATE TABLE "${schema}".jobs (
          id uuid PRIMARY KEY,
          requested_by uuid NOT NULL,
          requester jsonb NOT NULL,
          type varchar(30) NOT NULL,
          format varchar(10) NOT NULL,
          course_id uuid,
          student_id uuid,
          status varchar(10) NOT NULL DEFAULT 'queued'
            CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
          progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
          error text,
          attempt integer NOT NULL DEFAULT 0,
          worker varchar(200),
          lease_until timestamptz,
          -- When the job was last put on the queue: a queued job whose message was lost (dead
          -- lettered after failed deliveries) is put on it again by the sweep.
          queued_at timestamptz NOT NULL DEFAULT now(),
          file_name varchar(200),
          size integer,
          created_at timestamptz NOT NULL DEFAULT now(),
          started_at timestamptz,
          finished_at timestamptz
        );
        CREATE INDEX jobs_requested_by_idx ON "${schema}".jobs (requested_by, created_at DESC, id);
        CREATE INDEX jobs_created_idx ON "${schema}".jobs (created_at DESC, id);
        CREATE INDEX jobs_active_idx ON "${schema}".jobs (status, lease_until, queued_at)
          WHERE status IN ('queued', 'running');
        CREATE TABLE "${schema}".files (
          job_id uuid PRIMARY KEY REFERENCES "${schema}".jobs (id) ON DELETE CASCADE,
          content bytea NOT NULL
        );
      `,
  },
  outboxMigration("002-create-outbox"),
];
