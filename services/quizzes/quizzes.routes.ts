/**
 * The quizzes service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code. Quizzes are created under
 * their course (`/courses/:id/quizzes`) and then live under `/quizzes/:id`.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { routeTable } from "../../lib/routes";
import { answersField, quizFields, quizPatchFields } from "./quizzes";

const EVERYONE = ["admin", "teacher", "student"] as const;
const STAFF = ["admin", "teacher"] as const;

export const quizzesRoutes = routeTable({
  name: "quizzes",
  settings: { rest: "/" },
  actions: {
    create: {
      rest: "POST /courses/:id/quizzes",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, ...quizFields },
    },
    listOfCourse: {
      rest: "GET /courses/:id/quizzes",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam, ...pageParams },
    },
    get: {
      rest: "GET /quizzes/:id",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam },
    },
    update: {
      rest: "PATCH /quizzes/:id",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, ...quizPatchFields },
    },
    remove: {
      rest: "DELETE /quizzes/:id",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam },
    },
    publish: {
      rest: "POST /quizzes/:id/publish",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam },
    },
    startAttempt: {
      rest: "POST /quizzes/:id/attempts",
      permissions: ["student"],
      params: { $$strict: "remove", id: idParam },
    },
    submitAttempt: {
      rest: "POST /quizzes/:id/attempts/:attemptId/submit",
      permissions: ["student"],
      params: { $$strict: "remove", id: idParam, attemptId: idParam, answers: answersField },
    },
    attempts: {
      rest: "GET /quizzes/:id/attempts",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam, ...pageParams },
    },
    attempt: {
      rest: "GET /quizzes/:id/attempts/:attemptId",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam, attemptId: idParam },
    },
  },
});
