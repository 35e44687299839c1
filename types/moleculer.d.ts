import "moleculer";
import type { Permission } from "../lib/permissions";

declare module "moleculer" {
  interface ActionSchema {
    /** Who may call this action (checked by the permissions middleware); absent: internal only. */
    permissions?: readonly Permission[];
    /** Callers may keep the result in their near cache (needs `cache.keys`; see lib/near-cache.ts). */
    nearCache?: boolean;
    /** A gateway base path for this action instead of its service's (lib/routes.ts). */
    restBase?: string;
  }

  interface ServiceSchema {
    /** Durable channel consumers (@moleculer/channels). */
    channels?: Record<string, unknown>;
  }
}
