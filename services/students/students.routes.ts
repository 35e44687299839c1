/**
 * The students service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { resourceRoutes, routeTable } from "../../lib/routes";
import { studentFields, studentPatchFields } from "./students";
import { ENROLLMENT_STATUSES } from "../courses/courses";

export const studentsRoutes = routeTable({
  name: "students",
  settings: { rest: "/students" },
  actions: {
    ...resourceRoutes(
      {
        list: ["admin", "teacher"],
        create: ["admin"],
        get: ["admin", "teacher", "student"],
        replace: ["admin", "student"],
        update: ["admin", "student"],
        remove: ["admin"],
      },
      studentFields,
      studentPatchFields,
    ),
    courses: {
      rest: "GET /:id/courses",
      permissions: ["admin", "teacher", "student"],
      params: {
        $$strict: "remove",
        id: idParam,
        status: { type: "enum", values: [...ENROLLMENT_STATUSES], optional: true },
        ...pageParams,
      },
    },
    enroll: {
      rest: "POST /:id/courses",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam, courseId: idParam },
    },
    drop: {
      rest: "DELETE /:id/courses/:courseId",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam, courseId: idParam },
    },
  },
});
