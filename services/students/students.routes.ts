/**
 * The students service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code.
 */
import { idParam } from "../../lib/ids";
import { pageParams, searchParams } from "../../lib/paging";
import { routeTable } from "../../lib/routes";
import { studentFields, studentPatchFields } from "./students";

export const studentsRoutes = routeTable({
  name: "students",
  settings: { rest: "/students" },
  actions: {
    list: {
      rest: "GET /",
      permissions: ["admin", "teacher"],
      params: { $$strict: "remove", ...pageParams, ...searchParams },
    },
    create: {
      rest: "POST /",
      permissions: ["admin"],
      params: { $$strict: "remove", ...studentFields },
    },
    get: {
      rest: "GET /:id",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam },
    },
    replace: {
      rest: "PUT /:id",
      permissions: ["admin", "student"],
      params: { $$strict: "remove", id: idParam, ...studentFields },
    },
    update: {
      rest: "PATCH /:id",
      permissions: ["admin", "student"],
      params: { $$strict: "remove", id: idParam, ...studentPatchFields },
    },
    remove: {
      rest: "DELETE /:id",
      permissions: ["admin"],
      params: { $$strict: "remove", id: idParam },
    },
    courses: {
      rest: "GET /:id/courses",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam, ...pageParams },
    },
    enroll: {
      rest: "POST /:id/courses",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam, courseId: idParam },
    },
    drop: {
      rest: "DELETE /:id/courses/:courseId",
      permissions: ["admin", "teacher", "student"],
      params: { $$strict: "remove", id: idParam, courseId: idParam },
    },
  },
});
