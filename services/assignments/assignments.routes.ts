/**
 * The assignments service's HTTP face: each published action's route, permissions and params.
 * Paths hang under a course (`/courses/:id/assignments`) or an assignment (`/assignments/:id`), so
 * the base path is the API root. Roles are checked here; course staff and enrollment (object
 * level) by the actions, through `courses.access`.
 */
import { pageParams } from "../../lib/paging";
import { courseItemRoutes, EVERYONE, route, routeTable, STAFF } from "../../lib/routes";
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
    submit: route("PUT /assignments/:id/submissions/me", ["student"], {
      body: submissionBodyField,
    }),
    submissions: route("GET /assignments/:id/submissions", STAFF, pageParams),
    submission: route("GET /assignments/:id/submissions/:studentId", EVERYONE),
    grade: route("POST /assignments/:id/submissions/:studentId/grade", STAFF, gradeFields),
  },
});
