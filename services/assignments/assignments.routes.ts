/**
 * The assignments service's HTTP face: each published action's route, permissions and params.
 * Paths hang under a course (`/courses/:id/assignments`) or an assignment (`/assignments/:id`), so
 * the base path is the API root. Roles are checked here; course staff and enrollment (object
 * level) by the actions, through `courses.access`.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { courseItemRoutes, EVERYONE, routeTable, STAFF } from "../../lib/routes";
import {
  assignmentFields,
  assignmentPatchFields,
  gradeFields,
  submissionBodyField,
} from "./assignments";

export const assignmentsRoutes = routeTable({
  name: "assignments",
  settings: { rest: "/" },
  actions: {
    ...courseItemRoutes("assignments", assignmentFields, assignmentPatchFields),
    submit: {
      rest: "PUT /assignments/:id/submissions/me",
      permissions: ["student"],
      params: { $$strict: "remove", id: idParam, body: submissionBodyField },
    },
    submissions: {
      rest: "GET /assignments/:id/submissions",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, ...pageParams },
    },
    submission: {
      rest: "GET /assignments/:id/submissions/:studentId",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam, studentId: idParam },
    },
    grade: {
      rest: "POST /assignments/:id/submissions/:studentId/grade",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, studentId: idParam, ...gradeFields },
    },
  },
});
