/**
 * students — the student records (own database), and the student's side of enrollments, which it
 * answers with data from the courses service.
 */
import type { Context, Service } from "moleculer";
import { DataTypes, Op, type WhereOptions } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { FAST_FAILOVER, NOT_RETRIED } from "../../lib/fault-tolerance";
import { forbidden, notFound } from "../../lib/errors";
import { idParam, isUuid } from "../../lib/ids";
import {
  containsPattern,
  pageParams,
  pageRequest,
  parseSort,
  searchParams,
  toPage,
  type Page,
} from "../../lib/paging";
import { canActForStudent, studentUpdateDenial, type Identity } from "../../lib/permissions";
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
import { DbMixin, type DbServiceThis } from "../../mixins/db.mixin";
import { DomainEventsMixin, type DomainEventsThis } from "../../mixins/domain-events.mixin";
import { studentsRoutes } from "./students.routes";
import type { CampusServiceSchema } from "../../types/service";

type Meta = { user?: Identity; $statusCode?: number; $location?: string };
type StudentsThis = Service &
  DbServiceThis &
  DomainEventsThis &
  CacheCleanerThis & {
    findStudent(ctx: Context, id: string): Promise<Student>;
    writeStudent(ctx: Context, current: Student, changes: Partial<Student>): Promise<Student>;
    staleKeys(id: string): string[];
  };

const studentModel = {
  name: "student",
  define: {
    id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
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
      }),
      CacheCleanerMixin,
      DomainEventsMixin,
    ],
    settings: { ...studentsRoutes.settings },

    actions: {
      // ---- Published: access control, then the cached internal actions below ----

      list: {
        ...FAST_FAILOVER,
        ...studentsRoutes.actions.list,
        handler(ctx: Context<Record<string, unknown>>): Promise<Page<Student>> {
          return ctx.call("students.page", ctx.params);
        },
      },

      create: {
        ...NOT_RETRIED,
        ...studentsRoutes.actions.create,
        async handler(
          this: StudentsThis,
          ctx: Context<Record<string, string>, Meta>,
        ): Promise<Student> {
          const student: Student = await ctx.call("students.createRecord", ctx.params);
          ctx.meta.$statusCode = 201;
          ctx.meta.$location = `/api/students/${student.id}`;
          return student;
        },
      },

      get: {
        ...FAST_FAILOVER,
        ...studentsRoutes.actions.get,
        handler(this: StudentsThis, ctx: Context<{ id: string }, Meta>): Promise<Student> {
          if (!canActForStudent(ctx.meta.user!, ctx.params.id)) throw forbidden();
          return this.findStudent(ctx, ctx.params.id);
        },
      },

      replace: {
        ...NOT_RETRIED,
        ...studentsRoutes.actions.replace,
        async handler(
          this: StudentsThis,
          ctx: Context<Record<string, string>, Meta>,
        ): Promise<Student> {
          const current = await this.findStudent(ctx, ctx.params.id);
          const denial = studentUpdateDenial(
            ctx.meta.user!,
            current.id,
            current.email,
            ctx.params.email,
          );
          if (denial) throw forbidden(denial);
          return this.writeStudent(ctx, current, studentChanges(ctx.params));
        },
      },

      update: {
        ...NOT_RETRIED,
        ...studentsRoutes.actions.update,
        async handler(
          this: StudentsThis,
          ctx: Context<Record<string, string>, Meta>,
        ): Promise<Student> {
          const current = await this.findStudent(ctx, ctx.params.id);
          const denial = studentUpdateDenial(
            ctx.meta.user!,
            current.id,
            current.email,
            ctx.params.email,
          );
          if (denial) throw forbidden(denial);
          return this.writeStudent(ctx, current, studentChanges(ctx.params));
        },
      },

      remove: {
        ...NOT_RETRIED,
        ...studentsRoutes.actions.remove,
        async handler(this: StudentsThis, ctx: Context<{ id: string }, Meta>): Promise<null> {
          await ctx.call("students.deleteRecord", { id: ctx.params.id });
          ctx.meta.$statusCode = 204;
          return null;
        },
      },

      courses: {
        ...FAST_FAILOVER,
        ...studentsRoutes.actions.courses,
        async handler(
          this: StudentsThis,
          ctx: Context<{ id: string; page?: number; pageSize?: number }, Meta>,
        ) {
          if (!canActForStudent(ctx.meta.user!, ctx.params.id)) throw forbidden();
          const student = await this.findStudent(ctx, ctx.params.id);
          return ctx.call("courses.coursesOfStudent", {
            studentId: student.id,
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

      byId: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { id: idParam },
        cache: { keys: ["id"] },
        nearCache: true,
        async handler(this: StudentsThis, ctx: Context<{ id: string }>): Promise<Student> {
          if (!isUuid(ctx.params.id)) throw notFound("Student");
          const row = await this.adapter.model.findByPk(ctx.params.id);
          if (!row) throw notFound("Student");
          return toStudent(row.get({ plain: true }) as StudentRow);
        },
      },

      byIds: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { ids: { type: "array", items: { type: "uuid" }, max: 100 } },
        cache: { keys: ["ids"] },
        nearCache: true,
        async handler(this: StudentsThis, ctx: Context<{ ids: string[] }>): Promise<Student[]> {
          if (ctx.params.ids.length === 0) return [];
          const rows = await this.adapter.model.findAll({ where: { id: ctx.params.ids } });
          const byId = new Map(
            rows.map((row) => [
              row.get("id") as string,
              toStudent(row.get({ plain: true }) as StudentRow),
            ]),
          );
          // In the order asked for; ids of deleted students are left out.
          return ctx.params.ids.flatMap((id) => byId.get(id) ?? []);
        },
      },

      page: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { ...pageParams, ...searchParams },
        cache: { keys: ["page", "pageSize", "search", "sort"] },
        async handler(
          this: StudentsThis,
          ctx: Context<{ page?: number; pageSize?: number; search?: string; sort?: string }>,
        ) {
          const request = pageRequest(ctx.params);
          const order = parseSort(ctx.params.sort, STUDENT_SORT_FIELDS, [
            ["lastName", "ASC"],
            ["firstName", "ASC"],
          ]);
          let where: WhereOptions = {};
          if (ctx.params.search) {
            const pattern = containsPattern(ctx.params.search);
            where = {
              [Op.or]: [
                { firstName: { [Op.iLike]: pattern } },
                { lastName: { [Op.iLike]: pattern } },
                { email: { [Op.iLike]: pattern } },
              ],
            };
          }
          const { rows, count } = await this.adapter.model.findAndCountAll({
            where,
            order,
            limit: request.pageSize,
            offset: request.offset,
          });
          return toPage(
            rows.map((row) => toStudent(row.get({ plain: true }) as StudentRow)),
            count,
            request,
          );
        },
      },

      createRecord: {
        ...NOT_RETRIED,
        visibility: "public",
        params: { $$strict: "remove", ...studentFields },
        async handler(this: StudentsThis, ctx: Context<Record<string, string>>): Promise<Student> {
          const row = await this.adapter.model.create(studentChanges(ctx.params));
          await this.invalidate(ctx, [cacheKeys.all("students.page")]);
          const student = toStudent(row.get({ plain: true }) as StudentRow);
          this.logger.info("Student created", { studentId: student.id });
          return student;
        },
      },

      deleteRecord: {
        ...NOT_RETRIED,
        visibility: "public",
        params: { id: idParam },
        async handler(this: StudentsThis, ctx: Context<{ id: string }>): Promise<void> {
          const student = await this.findStudent(ctx, ctx.params.id);
          await this.sequelize.transaction(async (transaction) => {
            await this.adapter.model.destroy({ where: { id: student.id }, transaction });
            // Courses take the student off every roster; users delete the linked account.
            await this.recordEvent(ctx, transaction, "student.deleted", { studentId: student.id });
          });
          await this.invalidate(ctx, this.staleKeys(student.id));
          this.logger.info("Student deleted", { studentId: student.id });
        },
      },
    },

    methods: {
      findStudent(ctx: Context, id: string): Promise<Student> {
        return ctx.call("students.byId", { id });
      },

      async writeStudent(
        this: StudentsThis,
        ctx: Context,
        current: Student,
        changes: Partial<Student>,
      ): Promise<Student> {
        if (Object.keys(changes).length === 0) return current;
        const student = await this.sequelize.transaction(async (transaction) => {
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
        });
        await this.invalidate(ctx, this.staleKeys(current.id));
        return student;
      },

      staleKeys(id: string): string[] {
        return [
          cacheKeys.exact("students.byId", id),
          cacheKeys.containing("students.byIds", id),
          cacheKeys.all("students.page"),
        ];
      },
    },
  };
}
