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
  {
    // The list's default order (lastName, firstName, id): a page walks the index, not a sort.
    name: "004-index-default-order",
    sql: (schema) => `
        CREATE INDEX students_name_idx ON "${schema}".students (last_name, first_name, id);
      `,
  },
];
