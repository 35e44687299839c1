/**
 * The notifications service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { routeTable } from "../../lib/routes";

// Every query is bound to the caller; nobody reaches another's notifications.
const MINE = { permissions: ["admin", "teacher", "student"] } as const;

export const notificationsRoutes = routeTable({
  name: "notifications",
  settings: { rest: "/notifications" },
  actions: {
    list: {
      ...MINE,
      rest: "GET /",
      params: {
        $$strict: "remove",
        ...pageParams,
        unread: { type: "boolean", convert: true, optional: true },
      },
    },
    unreadCount: {
      ...MINE,
      rest: "GET /unread-count",
    },
    markRead: {
      ...MINE,
      rest: "POST /:id/read",
      params: { $$strict: "remove", id: idParam },
    },
    markAllRead: {
      ...MINE,
      rest: "POST /read-all",
    },
  },
});
