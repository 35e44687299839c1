/**
 * The quizzes service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code. Quizzes are created under
 * their course (`/courses/:id/quizzes`) and then live under `/quizzes/:id`.
 */
import { pageParams } from "../../lib/paging";
import { courseItemRoutes, EVERYONE, route, routeTable, STAFF } from "../../lib/routes";
import { answersField, quizFields, quizPatchFields } from "./quizzes";

// The quizzes of a course are listed by `listOfCourse` (its name in the OpenAPI document).
const { list: listOfCourse, ...quizRoutes } = courseItemRoutes(
  "quizzes",
  quizFields,
  quizPatchFields,
);

export const quizzesRoutes = routeTable({
  name: "quizzes",
  settings: { rest: "/" },
  actions: {
    ...quizRoutes,
    listOfCourse,
    publish: route("POST /quizzes/:id/publish", STAFF),
    startAttempt: route("POST /quizzes/:id/attempts", ["student"]),
    submitAttempt: route("POST /quizzes/:id/attempts/:attemptId/submit", ["student"], {
      answers: answersField,
    }),
    attempts: route("GET /quizzes/:id/attempts", EVERYONE, pageParams),
    attempt: route("GET /quizzes/:id/attempts/:attemptId", EVERYONE),
  },
});
