/**
 * Who the caller is to a course — its staff, an enrolled student, or neither — asked of the
 * courses service, the one authority on course teachers and enrollments, by every service whose
 * records belong to a course (schedule, assignments, gradebook, quizzes).
 */
import type { Context, ServiceSchema } from "moleculer";
import { notFound } from "../lib/errors";
import { isUuid } from "../lib/ids";
import type { Identity } from "../lib/permissions";
import type { CourseAccess } from "../services/courses/courses";

export interface CourseAccessThis {
  /** 404 for an unknown (or malformed) course id. */
  courseAccess(ctx: Context, courseId: string): Promise<CourseAccess>;
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
  },
};
