/**
 * The reports service's HTTP face. Who asked (and admins) see a report: checked by the actions
 * against the job's owner; course staff and "that student" at the request.
 */
import { pageParams } from "../../lib/paging";
import { EVERYONE, route, routeTable } from "../../lib/routes";
import { REPORT_FORMATS, REPORT_TYPES } from "./reports";

export const reportsRoutes = routeTable({
  name: "reports",
  settings: { rest: "/reports" },
  actions: {
    request: route("POST /", EVERYONE, {
      type: { type: "enum", values: [...REPORT_TYPES] },
      format: { type: "enum", values: [...REPORT_FORMATS] },
      courseId: { type: "uuid", optional: true },
      studentId: { type: "uuid", optional: true },
    }),
    list: route("GET /", EVERYONE, pageParams),
    get: route("GET /:id", EVERYONE),
    download: route("GET /:id/download", EVERYONE),
    regenerate: route("POST /:id/regenerate", EVERYONE),
  },
});
