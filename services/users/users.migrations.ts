import { RECORD_ID, RECORD_TIMESTAMPS, type Migration } from "../../lib/database";
import { outboxMigration } from "../../lib/outbox";

export const usersMigrations: Migration[] = [
  {
    name: "001-create-users",
    sql: (schema) => `
        CREATE TABLE "${schema}".users (
          ${RECORD_ID},
          email varchar(254) NOT NULL,
          password_hash text NOT NULL,
          role varchar(16) NOT NULL CHECK (role IN ('admin', 'teacher', 'student')),
          student_id uuid,
          disabled boolean NOT NULL DEFAULT false,
          token_version integer NOT NULL DEFAULT 0,
          failed_logins integer NOT NULL DEFAULT 0,
          failed_window_start timestamptz,
          ${RECORD_TIMESTAMPS}
        );
        CREATE UNIQUE INDEX users_email_key ON "${schema}".users (lower(email));
        CREATE UNIQUE INDEX users_student_key ON "${schema}".users (student_id);
      `,
  },
  outboxMigration("002-create-outbox"),
  {
    // The login backoff waits from the last failed login (login-throttle.ts).
    name: "003-add-last-failed-login-at",
    sql: (schema) => `ALTER TABLE "${schema}".users ADD COLUMN last_failed_login_at timestamptz`,
  },
  {
    // Failed-login slow-down per email named (known or not) and address, and the addresses
    // that logged in to each account (login-throttle.ts); the per-account lock columns go.
    name: "004-login-failures-and-addresses",
    sql: (schema) => `
        CREATE TABLE "${schema}".login_failures (
          email_key char(64) NOT NULL,
          address_key char(64) NOT NULL,
          failures integer NOT NULL,
          window_start timestamptz NOT NULL,
          last_failed_at timestamptz NOT NULL,
          PRIMARY KEY (email_key, address_key)
        );
        CREATE INDEX login_failures_window_start ON "${schema}".login_failures (window_start);
        CREATE TABLE "${schema}".login_addresses (
          user_id uuid NOT NULL REFERENCES "${schema}".users (id) ON DELETE CASCADE,
          address_key char(64) NOT NULL,
          last_login_at timestamptz NOT NULL,
          PRIMARY KEY (user_id, address_key)
        );
        ALTER TABLE "${schema}".users
          DROP COLUMN failed_logins,
          DROP COLUMN failed_window_start,
          DROP COLUMN last_failed_login_at;
      `,
  },
];
