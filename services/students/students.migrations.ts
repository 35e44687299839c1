import { RECORD_ID, RECORD_TIMESTAMPS, type Migration } from "../../lib/database";
import { idempotencyMigration } from "../../lib/idempotency";
import { outboxMigration } from "../../lib/outbox";

export const studentsMigrations: Migration[] = [
  {
    name: "001-create-students",
    sql: (schema) => `
        CREATE TABLE "${schema}".students (
          ${RECORD_ID},
          first_name varchar(100) NOT NULL,
          last_name varchar(100) NOT NULL,
          email varchar(254) NOT NULL,
          ${RECORD_TIMESTAMPS}
        );
        CREATE UNIQUE INDEX students_email_key ON "${schema}".students (lower(email));
        CREATE INDEX students_created_at_idx ON "${schema}".students (created_at, id);
      `,
  },
  outboxMigration("002-create-outbox"),
  idempotencyMigration("003-create-idempotent-writes"),
];
