import type { Migration } from "../../lib/database";
import { outboxMigration } from "../../lib/outbox";

export const studentsMigrations: Migration[] = [
  {
    name: "001-create-students",
    async up(queryInterface, schema) {
      await queryInterface.sequelize.query(`
        CREATE TABLE "${schema}".students (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          first_name varchar(100) NOT NULL,
          last_name varchar(100) NOT NULL,
          email varchar(254) NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX students_email_key ON "${schema}".students (lower(email));
        CREATE INDEX students_created_at_idx ON "${schema}".students (created_at, id);
      `);
    },
  },
  outboxMigration("002-create-outbox"),
];
