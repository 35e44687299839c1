/**
 * The courses service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { EVERYONE, resourceRoutes, route, routeTable, STAFF } from "../../lib/routes";
import { courseFields, coursePatchFields, teacherIdsField } from "./courses";

export const coursesRoutes = routeTable({
  name: "courses",
  settings: { rest: "/courses" },
  actions: {
    ...resourceRoutes(
      {
        list: EVERYONE,
        create: STAFF,
        get: EVERYONE,
        replace: STAFF,
        update: STAFF,
        remove: ["admin"],
      },
      courseFields,
      coursePatchFields,
    ),
    setTeachers: route("PUT /:id/teachers", STAFF, { teacherIds: teacherIdsField }),
    students: route("GET /:id/students", STAFF, pageParams),
    enroll: route("POST /:id/students", EVERYONE, { studentId: idParam }),
    drop: route("DELETE /:id/students/:studentId", EVERYONE),
    waitlist: route("GET /:id/waitlist", STAFF, pageParams),
    complete: route("POST /:id/complete", STAFF),
    // An enrollment's own path (the pair of ids), outside the courses' base path.
    history: {
      restBase: "/enrollments",
      ...route("GET /:courseId/:studentId/history", EVERYONE),
    },
  },
});
