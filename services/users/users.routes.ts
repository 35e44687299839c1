/**
 * The users service's HTTP face: each published action's route, permissions and params. The
 * service spreads these into its actions; the gateway and the OpenAPI document read them without
 * building the service, so a gateway-only node loads no database code. login and register
 * are published under /api/auth by the gateway itself.
 */
import { idParam } from "../../lib/ids";
import { MAX_SEARCH_LENGTH, pageParams } from "../../lib/paging";
import { routeTable } from "../../lib/routes";
import { ROLES } from "../../lib/tokens";

const email = { type: "email", mode: "precise", normalize: true, min: 3, max: 254 } as const;
// Length rules live in passwordProblems (422 with a clear reason); this bound only stops abuse.
const password = { type: "string", min: 1, max: 1024 } as const;
const name = { type: "string", trim: true, min: 1, max: 100 } as const;

export const usersRoutes = routeTable({
  name: "users",
  settings: { rest: "/" },
  actions: {
    register: {
      permissions: ["$anyone"],
      params: { $$strict: "remove", email, password, firstName: name, lastName: name },
    },
    login: {
      permissions: ["$anyone"],
      params: { $$strict: "remove", email: { type: "string", min: 1, max: 254 }, password },
    },
    me: {
      rest: "GET /auth/me",
      permissions: ["admin", "teacher", "student"],
    },
    list: {
      rest: "GET /users",
      permissions: ["admin"],
      params: {
        $$strict: "remove",
        ...pageParams,
        search: { type: "string", max: MAX_SEARCH_LENGTH, optional: true },
        role: { type: "enum", values: ROLES, optional: true },
      },
    },
    create: {
      rest: "POST /users",
      permissions: ["admin"],
      params: {
        $$strict: "remove",
        email,
        password,
        role: { type: "enum", values: ROLES },
        studentId: { type: "uuid", nullable: true, optional: true },
      },
    },
    get: {
      rest: "GET /users/:id",
      permissions: ["admin"],
      params: { $$strict: "remove", id: idParam },
    },
    update: {
      rest: "PATCH /users/:id",
      permissions: ["admin"],
      params: {
        $$strict: "remove",
        id: idParam,
        role: { type: "enum", values: ROLES, optional: true },
        password: { ...password, optional: true },
        disabled: { type: "boolean", optional: true },
      },
    },
    remove: {
      rest: "DELETE /users/:id",
      permissions: ["admin"],
      params: { $$strict: "remove", id: idParam },
    },
  },
});
