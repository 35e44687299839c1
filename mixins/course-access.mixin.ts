/**
 * Who the caller is to a course — its staff, an enrolled student, or neither — and who is enrolled,
 * asked of the courses service, the one authority on course teachers and enrollments, by every
 * service whose records belong to a course (schedule, assignments, gradebook, quizzes, reports).
 */
import type { Context, ServiceSchema } from "moleculer";
import type { Order } from "sequelize";
import { forbidden, notFound } from "../lib/errors";
import { isUuid } from "../lib/ids";
import { findPage, MAX_PAGE_SIZE, type Page } from "../lib/paging";
import type { Identity } from "../lib/permissions";
import type { CourseAccess } from "../services/courses/courses";
import type { DbServiceThis } from "./db.mixin";

type CourseItemsParams = { id: string; page?: number; pageSize?: number };

export interface CourseAccessThis {
  /** 404 for an unknown (or malformed) course id. */
  courseAccess(ctx: Context, courseId: string): Promise<CourseAccess>;
  /**
   * One page of course `ctx.params.id`'s items (the service's main model, with `courseId` and
   * `published`) as the caller may see them: all for the course's staff, the published ones for
   * its enrolled students; anyone else gets 403 `refusal`.
   */
  visibleCourseItems<Row>(
    ctx: Context<CourseItemsParams>,
    order: Order,
    refusal: string,
  ): Promise<{ access: CourseAccess; page: Page<Row> }>;
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

    async visibleCourseItems<Row>(
      this: DbServiceThis & CourseAccessThis,
      ctx: Context<CourseItemsParams>,
      order: Order,
      refusal: string,
    ): Promise<{ access: CourseAccess; page: Page<Row> }> {
      const access = await this.courseAccess(ctx, ctx.params.id);
      if (!access.staff && !access.enrolled) throw forbidden(refusal);
      const page = await findPage<Row>(this.adapter.model, ctx.params, {
        where: { courseId: access.course.id, ...(access.staff ? {} : { published: true }) },
        order,
      });
      return { access, page };
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
