/**
 * students — the student records (own database), and the student's side of enrollments, which it
 * answers with data from the courses service.
 */
import type { Context } from "moleculer";
import { DataTypes } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { recordIdAttribute } from "../../lib/database";
import { FAST_FAILOVER, IDEMPOTENT_WRITE, NOT_RETRIED } from "../../lib/fault-tolerance";
import { conflict, forbidden, notFound } from "../../lib/errors";
import { idParam } from "../../lib/ids";
import { canActForStudent, studentUpdateDenial } from "../../lib/permissions";
import {
  STUDENT_SORT_FIELDS,
  studentChanges,
  studentFields,
  toStudent,
  type Student,
  type StudentRow,
} from "./students";
import { studentsMigrations } from "./students.migrations";
import {
  CacheCleanerMixin,
  cacheKeys,
  type CacheCleanerThis,
} from "../../mixins/cache-cleaner.mixin";
import { DbMixin } from "../../mixins/db.mixin";
import { DomainEventsMixin } from "../../mixins/domain-events.mixin";
import { studentsRoutes } from "./students.routes";
import { ResourceMixin, type ResourceThis } from "../../mixins/resource.mixin";
import type { CampusMeta, CampusServiceSchema, DbEventsThis } from "../../types/service";

type Meta = CampusMeta;
type StudentsThis = DbEventsThis & CacheCleanerThis & ResourceThis<Student>;

const studentModel = {
  name: "student",
  define: {
    id: recordIdAttribute(),
    firstName: { type: DataTypes.STRING(100), allowNull: false },
    lastName: { type: DataTypes.STRING(100), allowNull: false },
    email: { type: DataTypes.STRING(254), allowNull: false },
  },
  options: { tableName: "students" },
};

const DUPLICATE_EMAIL = {
  message: "A student with this email already exists",
  type: "DUPLICATE_EMAIL",
};

export default function studentsService(config: CampusConfig): CampusServiceSchema<StudentsThis> {
  return {
    name: "students",
    mixins: [
      DbMixin("students", config, {
        model: studentModel,
        migrations: studentsMigrations,
        uniqueViolations: { students_email_key: DUPLICATE_EMAIL },
        idempotentWrites: true,
      }),
      CacheCleanerMixin,
      DomainEventsMixin,
      ResourceMixin<Student>({
        entity: "Student",
        routes: studentsRoutes,
        toResource: (row) => toStudent(row as unknown as StudentRow),
        sort: {
          fields: STUDENT_SORT_FIELDS,
          default: [
            ["lastName", "ASC"],
            ["firstName", "ASC"],
          ],
        },
        search: ["firstName", "lastName", "email"],
        replacement: studentChanges,
        changes: studentChanges,
        readable: canActForStudent,
        writeDenial: (user, current, params) =>
          studentUpdateDenial(user, current.id, current.email, params.email as string | undefined),
        idempotentWrites: true,
      }),
    ],

    actions: {
      // ---- Published (list, get, create, replace, update, remove: ResourceMixin) ----

      courses: {
        ...FAST_FAILOVER,
        ...studentsRoutes.actions.courses,
        async handler(
          this: StudentsThis,
          ctx: Context<{ id: string; status?: string; page?: number; pageSize?: number }, Meta>,
        ) {
          if (!canActForStudent(ctx.meta.user!, ctx.params.id)) throw forbidden();
          const student = await this.findResource(ctx, ctx.params.id);
          return ctx.call("courses.coursesOfStudent", {
            studentId: student.id,
            status: ctx.params.status ?? "active",
            page: ctx.params.page,
            pageSize: ctx.params.pageSize,
          });
        },
      },

      enroll: {
        ...NOT_RETRIED,
        ...studentsRoutes.actions.enroll,
        handler(ctx: Context<{ id: string; courseId: string }, Meta>) {
          // The courses service owns enrollments and applies the same rules on both paths.
          return ctx.call("courses.enroll", { id: ctx.params.courseId, studentId: ctx.params.id });
        },
      },

      drop: {
        ...NOT_RETRIED,
        ...studentsRoutes.actions.drop,
        handler(ctx: Context<{ id: string; courseId: string }, Meta>) {
          return ctx.call("courses.drop", { id: ctx.params.courseId, studentId: ctx.params.id });
        },
      },

      // ---- Internal: called by other services; not published over HTTP ----

      createRecord: {
        // Once per request (a retry answers the first attempt's student): retried.
        ...IDEMPOTENT_WRITE,
        visibility: "public",
        params: { $$strict: "remove", ...studentFields },
        async handler(this: StudentsThis, ctx: Context<Record<string, string>>): Promise<Student> {
          const student = await this.sequelize.transaction((transaction) =>
            this.once(ctx, transaction, async () => {
              const row = await this.adapter.model.create(studentChanges(ctx.params), {
                transaction,
              });
              return toStudent(row.get({ plain: true }) as StudentRow);
            }),
          );
          await this.invalidate(ctx, [cacheKeys.all("students.page")]);
          this.logger.info("Student created", { studentId: student.id });
          return student;
        },
      },

      deleteRecord: {
        ...NOT_RETRIED,
        visibility: "public",
        params: { id: idParam },
        async handler(this: StudentsThis, ctx: Context<{ id: string }>): Promise<void> {
          const student = await this.findResource(ctx, ctx.params.id);
          await this.sequelize.transaction(async (transaction) => {
            await this.adapter.model.destroy({ where: { id: student.id }, transaction });
            // Courses take the student off every roster; users delete the linked account.
            await this.recordEvent(ctx, transaction, "student.deleted", { studentId: student.id });
          });
          await this.invalidate(ctx, this.resourceKeys(student.id));
          this.logger.info("Student deleted", { studentId: student.id });
        },
      },
    },

    methods: {
      createResource(ctx: Context, params: Record<string, unknown>): Promise<Student> {
        return ctx.call("students.createRecord", params);
      },

      async removeResource(ctx: Context, current: Student): Promise<void> {
        await ctx.call("students.deleteRecord", { id: current.id });
      },

      async writeResource(
        this: StudentsThis,
        ctx: Context,
        current: Student,
        changes: Partial<Student>,
      ): Promise<Student> {
        if (Object.keys(changes).length === 0) return current;
        if (changes.email !== undefined && changes.email.toLowerCase() !== current.email) {
          // The linked account logs in with this email: refused (409) when another account has
          // it, so the record and its account never disagree (users follows the change below).
          const taken = await ctx.call<boolean, { email: string; studentId: string }>(
            "users.emailTaken",
            { email: changes.email, studentId: current.id },
          );
          if (taken) throw conflict("This email is already registered", "DUPLICATE_EMAIL");
        }
        const student = await this.sequelize.transaction((transaction) =>
          this.once(ctx, transaction, async () => {
            const [, rows] = await this.adapter.model.update(changes, {
              where: { id: current.id },
              returning: true,
              transaction,
            });
            if (rows.length === 0) throw notFound("Student");
            const updated = toStudent(rows[0].get({ plain: true }) as StudentRow);
            if (updated.email !== current.email) {
              // The linked account logs in with the student's email: users follows the change.
              await this.recordEvent(ctx, transaction, "student.emailChanged", {
                studentId: updated.id,
                email: updated.email,
              });
            }
            return updated;
          }),
        );
        await this.invalidate(ctx, this.resourceKeys(current.id));
        return student;
      },
    },
  };
}
