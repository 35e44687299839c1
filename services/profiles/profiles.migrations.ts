import type { Migration } from "../../lib/database";
import { outboxMigration } from "../../lib/outbox";

export const profilesMigrations: Migration[] = [
  {
    name: "001-create-profiles-and-achievements",
    // A profile row exists once its user changed it (defaults are computed on read).
    // Achievements are unique per (user, code): a replayed event inserts nothing.
    sql: (schema) => `
        CREATE TABLE "${schema}".profiles (
          user_id uuid PRIMARY KEY,
          display_name varchar(100),
          bio text NOT NULL DEFAULT '' CHECK (length(bio) <= 2000),
          avatar_url varchar(2048),
          links jsonb NOT NULL DEFAULT '[]',
          updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE "${schema}".achievements (
          user_id uuid NOT NULL,
          code varchar(40) NOT NULL,
          awarded_at timestamptz NOT NULL DEFAULT now(),
          event_id uuid NOT NULL,
          CONSTRAINT achievements_pkey PRIMARY KEY (user_id, code)
        );
      `,
  },
  outboxMigration("002-create-outbox"),
];
