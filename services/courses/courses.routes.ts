/**
 * The courses service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { resourceRoutes, routeTable } from "../../lib/routes";
import { courseFields, coursePatchFields, teacherIdsField } from "./courses";

export const coursesRoutes = routeTable({
  name: "courses",
  settings: { rest: "/courses" },
  actions: {
    ...resourceRoutes(
      {
        list: ["admin", "teacher", "student"],
        create: ["admin", "teacher"],
        get: ["admin", "teacher", "student"],
        replace: ["admin", "teacher"],
        update: ["admin", "teacher"],
        remove: ["admin"],
      },
      courseFields,
      coursePatchFields,
    ),
    setTeachers: {
      rest: "PUT /:id/teachers",
      permissions: ["admin", "teacher"],
      params: { $$strict: "remove", id: idParam, teacherIds: teacherIdsField },
    },
    students: {
      rest: "GET /:id/students",
      permissions: ["admin", "teacher"],
      params: { $$strict: "remove", id: idParam, ...pageParams },
    },
    enroll: {
      rest: "POST /:id/students",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam, studentId: idParam },
    },
    drop: {
      rest: "DELETE /:id/students/:studentId",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam, studentId: idParam },
    },
    waitlist: {
      rest: "GET /:id/waitlist",
      permissions: ["admin", "teacher"],
      params: { $$strict: "remove", id: idParam, ...pageParams },
    },
    complete: {
      rest: "POST /:id/complete",
      permissions: ["admin", "teacher"],
      params: { $$strict: "remove", id: idParam },
    },
    // An enrollment's own path (the pair of ids), outside the courses' base path.
    history: {
      restBase: "/enrollments",
      rest: "GET /:courseId/:studentId/history",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", courseId: idParam, studentId: idParam },
    },
  },
});
