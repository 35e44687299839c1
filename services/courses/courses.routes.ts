/**
 * The courses service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code.
 */
import { idParam } from "../../lib/ids";
import { pageParams, searchParams } from "../../lib/paging";
import { routeTable } from "../../lib/routes";
import { courseFields, coursePatchFields } from "./courses";

export const coursesRoutes = routeTable({
  name: "courses",
  settings: { rest: "/courses" },
  actions: {
    list: {
      rest: "GET /",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", ...pageParams, ...searchParams },
    },
    create: {
      rest: "POST /",
      permissions: ["admin", "teacher"],
      params: { $$strict: "remove", ...courseFields },
    },
    get: {
      rest: "GET /:id",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam },
    },
    replace: {
      rest: "PUT /:id",
      permissions: ["admin", "teacher"],
      params: { $$strict: "remove", id: idParam, ...courseFields },
    },
    update: {
      rest: "PATCH /:id",
      permissions: ["admin", "teacher"],
      params: { $$strict: "remove", id: idParam, ...coursePatchFields },
    },
    remove: {
      rest: "DELETE /:id",
      permissions: ["admin"],
      params: { $$strict: "remove", id: idParam },
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
  },
});
