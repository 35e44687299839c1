/**
 * The profiles service's HTTP face. Every signed-in user has a profile (`/profiles/me`) and may
 * read anyone's achievements; the PATCH body is checked field by field (unknown fields refused).
 */
import { idParam } from "../../lib/ids";
import { routeTable } from "../../lib/routes";
import { profilePatchFields } from "./profiles";

const EVERYONE = ["admin", "teacher", "student"] as const;

export const profilesRoutes = routeTable({
  name: "profiles",
  settings: { rest: "/profiles" },
  actions: {
    me: {
      rest: "GET /me",
      permissions: EVERYONE,
      params: { $$strict: "remove" },
    },
    updateMe: {
      rest: "PATCH /me",
      permissions: EVERYONE,
      // Not stripped: an unknown field is refused by name (profilePatchProblems).
      params: { ...profilePatchFields },
    },
    achievements: {
      rest: "GET /:userId/achievements",
      permissions: EVERYONE,
      params: { $$strict: "remove", userId: idParam },
    },
  },
});
