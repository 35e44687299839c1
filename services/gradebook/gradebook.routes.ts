/**
 * The gradebook service's HTTP face. Paths hang under a course or a student, so the base path is
 * the API root; course staff and "that student" (object level) are checked by the actions.
 */
import { idParam } from "../../lib/ids";
import { EVERYONE, routeTable, STAFF } from "../../lib/routes";
import { gradingFields } from "./gradebook";

export const gradebookRoutes = routeTable({
  name: "gradebook",
  settings: { rest: "/" },
  actions: {
    courseGradebook: {
      rest: "GET /courses/:id/gradebook",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam },
    },
    studentGrades: {
      rest: "GET /students/:id/grades",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam, courseId: { type: "uuid", optional: true } },
    },
    setGrading: {
      rest: "PUT /courses/:id/grading",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, ...gradingFields },
    },
  },
});
