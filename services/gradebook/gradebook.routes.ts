/**
 * The gradebook service's HTTP face. Paths hang under a course or a student, so the base path is
 * the API root; course staff and "that student" (object level) are checked by the actions.
 */
import { EVERYONE, route, routeTable, STAFF } from "../../lib/routes";
import { gradingFields } from "./gradebook";

export const gradebookRoutes = routeTable({
  name: "gradebook",
  settings: { rest: "/" },
  actions: {
    courseGradebook: route("GET /courses/:id/gradebook", STAFF),
    studentGrades: route("GET /students/:id/grades", EVERYONE, {
      courseId: { type: "uuid", optional: true },
    }),
    setGrading: route("PUT /courses/:id/grading", STAFF, gradingFields),
  },
});
