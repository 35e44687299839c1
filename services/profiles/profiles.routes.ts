/**
 * The profiles service's HTTP face. Every signed-in user has a profile (`/profiles/me`) and may
 * read anyone's achievements; the PATCH body is checked field by field (unknown fields refused).
 */
import { EVERYONE, route, routeTable } from "../../lib/routes";
import { profilePatchFields } from "./profiles";

export const profilesRoutes = routeTable({
  name: "profiles",
  settings: { rest: "/profiles" },
  actions: {
    me: route("GET /me", EVERYONE),
    updateMe: {
      rest: "PATCH /me",
      permissions: EVERYONE,
      // Not stripped: an unknown field is refused by name (profilePatchProblems).
      params: { ...profilePatchFields },
    },
    achievements: route("GET /:userId/achievements", EVERYONE),
  },
});
