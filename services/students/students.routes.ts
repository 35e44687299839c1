/**
 * The students service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { EVERYONE, resourceRoutes, route, routeTable, STAFF } from "../../lib/routes";
import { studentFields, studentPatchFields } from "./students";
import { ENROLLMENT_STATUSES } from "../courses/courses";

export const studentsRoutes = routeTable({
  name: "students",
  settings: { rest: "/students" },
  actions: {
    ...resourceRoutes(
      {
        list: STAFF,
        create: ["admin"],
        get: EVERYONE,
        replace: ["admin", "student"],
        update: ["admin", "student"],
        remove: ["admin"],
      },
      studentFields,
      studentPatchFields,
    ),
    courses: route("GET /:id/courses", EVERYONE, {
      status: { type: "enum", values: [...ENROLLMENT_STATUSES], optional: true },
      ...pageParams,
    }),
    enroll: route("POST /:id/courses", EVERYONE, { courseId: idParam }),
    drop: route("DELETE /:id/courses/:courseId", EVERYONE),
  },
});
