/**
 * The schedule service's HTTP face. Its routes live under several bases (a course's lessons, a
 * lesson, a student's attendance, the caller's schedule), so each path is written in full.
 */
import { idParam } from "../../lib/ids";
import { pageParams } from "../../lib/paging";
import { EVERYONE, routeTable, STAFF } from "../../lib/routes";
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
    createLesson: {
      rest: "POST /courses/:id/lessons",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, ...lessonFields },
    },
    createSeries: {
      rest: "POST /courses/:id/lesson-series",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, ...seriesFields },
    },
    getLesson: {
      rest: "GET /lessons/:id",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam },
    },
    updateLesson: {
      rest: "PATCH /lessons/:id",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, ...lessonPatchFields },
    },
    removeLesson: {
      rest: "DELETE /lessons/:id",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam },
    },
    courseSchedule: {
      rest: "GET /courses/:id/schedule",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam, ...rangeFields, ...pageParams },
    },
    mySchedule: {
      rest: "GET /schedule/me",
      // An admin's: the lessons they teach (as for a teacher), like their calendar feed.
      permissions: EVERYONE,
      params: { $$strict: "remove", ...rangeFields, ...pageParams },
    },
    recordAttendance: {
      rest: "PUT /lessons/:id/attendance",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam, ...attendanceFields },
    },
    lessonAttendance: {
      rest: "GET /lessons/:id/attendance",
      permissions: STAFF,
      params: { $$strict: "remove", id: idParam },
    },
    studentAttendance: {
      rest: "GET /students/:id/attendance",
      permissions: EVERYONE,
      params: { $$strict: "remove", id: idParam },
    },
    createFeed: {
      rest: "POST /schedule/feed",
      permissions: EVERYONE,
      params: { $$strict: "remove" },
    },
    feed: {
      rest: "GET /schedule/feed/:token",
      permissions: ["$anyone"],
      // Any string (the URL bounds its length): a malformed secret is simply not found (404).
      params: { $$strict: "remove", token: { type: "string", min: 1 } },
    },
  },
});
