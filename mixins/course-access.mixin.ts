/**
 * Who the caller is to a course — its staff, an enrolled student, or neither — and who is enrolled,
 * asked of the courses service, the one authority on course teachers and enrollments, by every
 * service whose records belong to a course (schedule, assignments, gradebook, quizzes, reports).
 */
import type { Context, ServiceSchema } from "moleculer";
import { notFound } from "../lib/errors";
import { isUuid } from "../lib/ids";
import { MAX_PAGE_SIZE, type Page } from "../lib/paging";
import type { Identity } from "../lib/permissions";
import type { CourseAccess } from "../services/courses/courses";

export interface CourseAccessThis {
  /** 404 for an unknown (or malformed) course id. */
  courseAccess(ctx: Context, courseId: string): Promise<CourseAccess>;
  /** Every student enrolled in the course (the courses service's roster, page by page). */
  rosterOf(ctx: Context, courseId: string): Promise<string[]>;
}

export const CourseAccessMixin: Partial<ServiceSchema> = {
  methods: {
    courseAccess(ctx: Context, courseId: string): Promise<CourseAccess> {
      if (!isUuid(courseId)) throw notFound("Course");
      const user = (ctx.meta as { user: Identity }).user;
      return ctx.call("courses.access", {
        courseId,
        user: { id: user.id, role: user.role, studentId: user.studentId },
      });
    },

    async rosterOf(ctx: Context, courseId: string): Promise<string[]> {
      const ids: string[] = [];
      for (let page = 1; ; page += 1) {
        const result: Page<string> = await ctx.call("courses.rosterIds", {
          courseId,
          page,
          pageSize: MAX_PAGE_SIZE,
        });
        ids.push(...result.rows);
        if (page >= result.totalPages) return ids;
      }
    },
  },
};
