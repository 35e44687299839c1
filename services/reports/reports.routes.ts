/**
 * The reports service's HTTP face. Who asked (and admins) see a report: checked by the actions
 * against the job's owner; course staff and "that student" at the request.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { routeTable } from "../../lib/routes";
import { REPORT_FORMATS, REPORT_TYPES } from "./reports";

export const reportsRoutes = routeTable({
  name: "reports",
  settings: { rest: "/reports" },
  actions: {
    request: {
      rest: "POST /",
      permissions: ["admin", "teacher", "student"],
      params: {
        $$strict: "remove",
        type: { type: "enum", values: [...REPORT_TYPES] },
        format: { type: "enum", values: [...REPORT_FORMATS] },
        courseId: { type: "uuid", optional: true },
        studentId: { type: "uuid", optional: true },
      },
    },
    list: {
      rest: "GET /",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", ...pageParams },
    },
    get: {
      rest: "GET /:id",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam },
    },
    download: {
      rest: "GET /:id/download",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam },
    },
    regenerate: {
      rest: "POST /:id/regenerate",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam },
    },
  },
});
