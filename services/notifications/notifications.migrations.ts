import type { Migration } from "../../lib/database";

export const notificationsMigrations: Migration[] = [
  {
    name: "001-create-notifications",
    // (event_id, user_id) is unique: a redelivered event inserts nothing new.
    sql: (schema) => `
        CREATE TABLE "${schema}".notifications (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          user_id uuid NOT NULL,
          type varchar(40) NOT NULL,
          title varchar(200) NOT NULL,
          body text NOT NULL,
          data jsonb NOT NULL DEFAULT '{}',
          read_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          event_id uuid NOT NULL,
          CONSTRAINT notifications_event_user_key UNIQUE (event_id, user_id)
        );
        CREATE INDEX notifications_user_created_idx
          ON "${schema}".notifications (user_id, created_at DESC);
      `,
  },
];
