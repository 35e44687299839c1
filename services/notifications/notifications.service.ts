/**
 * notifications — the caller's own notifications (own database), made from durable domain events
 * only, never from HTTP writes. A redelivered event inserts nothing new: every notification is
 * unique per (event, recipient), so each one exists exactly once.
 */
import type { Context, Service } from "moleculer";
import { DataTypes, Op, QueryTypes, type WhereOptions } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { recordIdAttribute } from "../../lib/database";
import { notFound } from "../../lib/errors";
import { FAST_FAILOVER, NOT_RETRIED } from "../../lib/fault-tolerance";
import { isUuid } from "../../lib/ids";
import { countNotifications } from "../../lib/metrics";
import {
  achievementDraft,
  courseCancelledDraft,
  courseUpdatedDraft,
  lessonCancelledDraft,
  lessonRescheduledDraft,
  distinctIds,
  droppedDraft,
  enrolledDraft,
  gradedDraft,
  promotedDraft,
  inBatches,
  notificationTime,
  quizScoredDraft,
  reportFailedDraft,
  reportReadyDraft,
  toNotification,
  welcomeDraft,
  type AchievementAwardedEvent,
  type CourseChanged,
  type LessonChanged,
  type EnrollmentCreated,
  type EnrollmentDropped,
  type GradeRecordedEvent,
  type Notification,
  type NotificationDraft,
  type NotificationRow,
  type QuizScored,
  type ReportFinished,
  type UserRegistered,
} from "./notifications";
import { findPage, mapPage, type Page } from "../../lib/paging";
import { notificationsMigrations } from "./notifications.migrations";
import { DbMixin, type DbServiceThis } from "../../mixins/db.mixin";
import { durableConsumer, type EventContext } from "../../mixins/domain-events.mixin";
import { notificationsRoutes } from "./notifications.routes";
import type { CampusMeta, CampusServiceSchema } from "../../types/service";

type Meta = CampusMeta;
type NotificationsThis = Service &
  DbServiceThis & {
    notifyStudents(
      ctx: EventContext<object>,
      studentIds: unknown[],
      draft: NotificationDraft,
    ): Promise<void>;
    unreadCounts(userIds: string[]): Promise<{ userId: string; count: number }[]>;
    notifyUsers(
      ctx: EventContext<object>,
      userIds: unknown[],
      draft: NotificationDraft,
    ): Promise<void>;
  };

/** The most students resolved to accounts in one call (the bound of `users.accountsOfStudents`). */
const STUDENTS_PER_LOOKUP = 1000;

const notificationModel = {
  name: "notification",
  define: {
    id: recordIdAttribute(),
    userId: { type: DataTypes.UUID, allowNull: false },
    type: { type: DataTypes.STRING(40), allowNull: false },
    title: { type: DataTypes.STRING(200), allowNull: false },
    body: { type: DataTypes.TEXT, allowNull: false },
    data: { type: DataTypes.JSONB, allowNull: false, defaultValue: {} },
    readAt: { type: DataTypes.DATE, allowNull: true },
    eventId: { type: DataTypes.UUID, allowNull: false },
  },
  options: { tableName: "notifications", updatedAt: false },
};

export default function notificationsService(
  config: CampusConfig,
): CampusServiceSchema<NotificationsThis> {
  return {
    name: "notifications",
    mixins: [
      DbMixin("notifications", config, {
        model: notificationModel,
        migrations: notificationsMigrations,
        uniqueViolations: {},
      }),
    ],
    settings: { ...notificationsRoutes.settings },

    // ---- Published: every query is bound to the caller; nobody reaches another's notifications ----

    actions: {
      list: {
        ...FAST_FAILOVER,
        ...notificationsRoutes.actions.list,
        async handler(
          this: NotificationsThis,
          ctx: Context<{ page?: number; pageSize?: number; unread?: boolean }, Meta>,
        ): Promise<Page<Notification>> {
          const where: WhereOptions = { userId: ctx.meta.user!.id };
          if (ctx.params.unread !== undefined) {
            Object.assign(where, { readAt: ctx.params.unread ? null : { [Op.ne]: null } });
          }
          const page = await findPage<NotificationRow>(this.adapter.model, ctx.params, {
            where,
            order: [
              ["createdAt", "DESC"],
              ["id", "DESC"],
            ],
          });
          return mapPage(page, toNotification);
        },
      },

      unreadCount: {
        ...FAST_FAILOVER,
        ...notificationsRoutes.actions.unreadCount,
        async handler(this: NotificationsThis, ctx: Context<unknown, Meta>) {
          const count = await this.adapter.model.count({
            where: { userId: ctx.meta.user!.id, readAt: null },
          });
          return { count };
        },
      },

      markRead: {
        ...NOT_RETRIED,
        ...notificationsRoutes.actions.markRead,
        async handler(
          this: NotificationsThis,
          ctx: Context<{ id: string }, Meta>,
        ): Promise<Notification> {
          if (!isUuid(ctx.params.id)) throw notFound("Notification");
          // Someone else's notification matches no row: 404, as for an unknown id.
          const [, rows] = await this.adapter.model.update(
            { readAt: this.sequelize.literal("COALESCE(read_at, now())") },
            { where: { id: ctx.params.id, userId: ctx.meta.user!.id }, returning: true },
          );
          if (rows.length === 0) throw notFound("Notification");
          await ctx.broadcast("notifications.unread", {
            counts: await this.unreadCounts([ctx.meta.user!.id]),
          });
          return toNotification(rows[0].get({ plain: true }) as NotificationRow);
        },
      },

      markAllRead: {
        ...NOT_RETRIED,
        ...notificationsRoutes.actions.markAllRead,
        async handler(this: NotificationsThis, ctx: Context<unknown, Meta>) {
          const [updated] = await this.adapter.model.update(
            { readAt: this.sequelize.fn("now") },
            { where: { userId: ctx.meta.user!.id, readAt: null } },
          );
          if (updated > 0)
            await ctx.broadcast("notifications.unread", {
              counts: [{ userId: ctx.meta.user!.id, count: 0 }],
            });
          return { updated };
        },
      },
    },

    // ---- Durable consumers (group "notifications"): redelivery is expected and harmless ----

    channels: {
      "user.registered": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<UserRegistered>,
      ) {
        await this.notifyUsers(ctx, [ctx.params.userId], welcomeDraft(ctx.params));
      }),

      "enrollment.created": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<EnrollmentCreated>,
      ) {
        await this.notifyStudents(ctx, [ctx.params.studentId], enrolledDraft(ctx.params));
      }),

      "enrollment.promoted": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<EnrollmentCreated>,
      ) {
        await this.notifyStudents(ctx, [ctx.params.studentId], promotedDraft(ctx.params));
      }),

      "enrollment.dropped": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<EnrollmentDropped>,
      ) {
        await this.notifyStudents(ctx, [ctx.params.studentId], droppedDraft(ctx.params));
      }),

      "course.updated": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<CourseChanged>,
      ) {
        await this.notifyStudents(ctx, ctx.params.studentIds ?? [], courseUpdatedDraft(ctx.params));
      }),

      "course.deleted": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<CourseChanged>,
      ) {
        await this.notifyStudents(
          ctx,
          ctx.params.studentIds ?? [],
          courseCancelledDraft(ctx.params),
        );
      }),

      "lesson.rescheduled": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<LessonChanged>,
      ) {
        await this.notifyStudents(
          ctx,
          ctx.params.studentIds ?? [],
          lessonRescheduledDraft(ctx.params),
        );
      }),

      "lesson.cancelled": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<LessonChanged>,
      ) {
        await this.notifyStudents(
          ctx,
          ctx.params.studentIds ?? [],
          lessonCancelledDraft(ctx.params),
        );
      }),

      "grade.recorded": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<GradeRecordedEvent>,
      ) {
        if (ctx.params.notify === false) return;
        await this.notifyStudents(ctx, [ctx.params.studentId], gradedDraft(ctx.params));
      }),

      "quiz.scored": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<QuizScored>,
      ) {
        await this.notifyStudents(ctx, [ctx.params.studentId], quizScoredDraft(ctx.params));
      }),

      /** Profiles award each achievement once; the user (not a student record) is notified. */
      "achievement.awarded": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<AchievementAwardedEvent>,
      ) {
        await this.notifyUsers(ctx, [ctx.params.userId], achievementDraft(ctx.params));
      }),

      "report.succeeded": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<ReportFinished>,
      ) {
        await this.notifyUsers(ctx, [ctx.params.userId], reportReadyDraft(ctx.params));
      }),

      "report.failed": durableConsumer(async function (
        this: NotificationsThis,
        ctx: EventContext<ReportFinished>,
      ) {
        await this.notifyUsers(ctx, [ctx.params.userId], reportFailedDraft(ctx.params));
      }),
    },

    methods: {
      /** Students → their accounts (users service); a student without an account gets nothing. */
      async notifyStudents(
        this: NotificationsThis,
        ctx: EventContext<object>,
        studentIds: unknown[],
        draft: NotificationDraft,
      ): Promise<void> {
        for (const batch of inBatches(distinctIds(studentIds), STUDENTS_PER_LOOKUP)) {
          const accounts: { userId: string; studentId: string }[] = await ctx.call(
            "users.accountsOfStudents",
            { studentIds: batch },
          );
          if (accounts.length < batch.length) {
            const withAccount = new Set(accounts.map((account) => account.studentId));
            this.logger.debug("Students without an account are not notified", {
              type: draft.type,
              studentIds: batch.filter((id) => !withAccount.has(id)),
            });
          }
          await this.notifyUsers(
            ctx,
            accounts.map((account) => account.userId),
            draft,
          );
        }
      },

      /** One row per recipient; ON CONFLICT makes a second delivery of the event insert nothing. */
      /** Unread counts per user, for the live `unread` messages. */
      async unreadCounts(
        this: NotificationsThis,
        userIds: string[],
      ): Promise<{ userId: string; count: number }[]> {
        const rows = await this.sequelize.query<{ userId: string; count: string }>(
          `SELECT user_id AS "userId", count(*) AS count FROM notifications.notifications
           WHERE user_id IN (:userIds) AND read_at IS NULL GROUP BY user_id`,
          { replacements: { userIds }, type: QueryTypes.SELECT },
        );
        const counts = new Map(rows.map((row) => [row.userId, Number(row.count)]));
        return [...new Set(userIds)].map((userId) => ({ userId, count: counts.get(userId) ?? 0 }));
      },

      async notifyUsers(
        this: NotificationsThis,
        ctx: EventContext<object>,
        userIds: unknown[],
        draft: NotificationDraft,
      ): Promise<void> {
        const { eventId, occurredAt } = ctx.params;
        if (!isUuid(eventId)) {
          // Without an id a redelivery could not be recognised: refuse rather than duplicate.
          this.logger.warn("Event without a valid eventId ignored", { type: draft.type });
          return;
        }
        const recipients = distinctIds(userIds);
        if (recipients.length === 0) return;
        const inserted = await this.sequelize.query<NotificationRow>(
          `INSERT INTO notifications.notifications (user_id, type, title, body, data, event_id, created_at)
           SELECT recipient, :type, :title, :body, CAST(:data AS jsonb), :eventId, :createdAt
           FROM unnest(ARRAY[:recipients]::uuid[]) AS recipient
           ON CONFLICT (event_id, user_id) DO NOTHING
           RETURNING id, user_id AS "userId", type, title, body, data, read_at AS "readAt",
             created_at AS "createdAt"`,
          {
            replacements: {
              type: draft.type,
              title: draft.title,
              body: draft.body,
              data: JSON.stringify(draft.data),
              eventId,
              createdAt: notificationTime(occurredAt),
              recipients,
            },
            type: QueryTypes.SELECT,
          },
        );
        countNotifications(this.broker, draft.type, inserted.length);
        // Live delivery: every gateway replica pushes to its own sockets (services/api/live.ts).
        if (inserted.length > 0) {
          await ctx.broadcast("notifications.created", {
            notifications: inserted.map((row) =>
              toNotification({
                ...row,
                readAt: row.readAt ? new Date(row.readAt) : null,
                createdAt: new Date(row.createdAt),
              }),
            ),
            unread: await this.unreadCounts(inserted.map((row) => row.userId)),
          });
        }
        const skipped = recipients.length - inserted.length;
        this.logger.info("Notifications created", {
          type: draft.type,
          eventId,
          created: inserted.length,
          ...(skipped > 0 ? { alreadyNotified: skipped } : {}),
        });
      },
    },
  };
}
