/**
 * The schedule service's HTTP face. Its routes live under several bases (a course's lessons, a
 * lesson, a student's attendance, the caller's schedule), so each path is written in full.
 */
import { pageParams } from "../../lib/paging";
import { EVERYONE, route, routeTable, STAFF } from "../../lib/routes";
import {
  attendanceFields,
  lessonFields,
  lessonPatchFields,
  rangeFields,
  seriesFields,
} from "./schedule";

export const scheduleRoutes = routeTable({
  name: "schedule",
  settings: { rest: "/" },
  actions: {
    createLesson: route("POST /courses/:id/lessons", STAFF, lessonFields),
    createSeries: route("POST /courses/:id/lesson-series", STAFF, seriesFields),
    getLesson: route("GET /lessons/:id", EVERYONE),
    updateLesson: route("PATCH /lessons/:id", STAFF, lessonPatchFields),
    removeLesson: route("DELETE /lessons/:id", STAFF),
    courseSchedule: route("GET /courses/:id/schedule", EVERYONE, { ...rangeFields, ...pageParams }),
    // An admin's: the lessons they teach (as for a teacher), like their calendar feed.
    mySchedule: route("GET /schedule/me", EVERYONE, { ...rangeFields, ...pageParams }),
    recordAttendance: route("PUT /lessons/:id/attendance", STAFF, attendanceFields),
    lessonAttendance: route("GET /lessons/:id/attendance", STAFF),
    studentAttendance: route("GET /students/:id/attendance", EVERYONE),
    createFeed: route("POST /schedule/feed", EVERYONE),
    // Any string (the URL bounds its length): a malformed secret is simply not found (404).
    feed: route("GET /schedule/feed/:token", ["$anyone"], { token: { type: "string", min: 1 } }),
  },
});
