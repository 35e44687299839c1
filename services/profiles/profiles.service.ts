/**
 * profiles — each user's profile (display name, bio, avatar and links; own database) and the
 * achievements they earned. Achievements come from durable domain events only, once each: the
 * (user, code) primary key and `INSERT … ON CONFLICT DO NOTHING` make a replayed or duplicated
 * event award nothing, and `achievement.awarded` is recorded (outbox) only with a new award, so
 * the notification is made once too. Events name students; awards go to their accounts.
 */
import type { Context, Service } from "moleculer";
import { DataTypes, QueryTypes } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { invalid } from "../../lib/errors";
import { LONG_READ, NOT_RETRIED } from "../../lib/fault-tolerance";
import { isUuid } from "../../lib/ids";
import { countAchievement } from "../../lib/metrics";
import type { SubmissionTurnedIn } from "../assignments/assignments";
import type { EnrollmentCompleted } from "../courses/courses";
import type { QuizScored } from "../notifications/notifications";
import type { User } from "../users/users.service";
import { DbMixin, type DbServiceThis } from "../../mixins/db.mixin";
import {
  DomainEventsMixin,
  durableConsumer,
  type EventContext,
  type DomainEventsThis,
} from "../../mixins/domain-events.mixin";
import type { CampusMeta, CampusServiceSchema } from "../../types/service";
import {
  ACHIEVEMENTS,
  isFullAttendance,
  isPerfectScore,
  normalizedPatch,
  profilePatchProblems,
  toAchievement,
  toProfile,
  type Achievement,
  type AchievementAwarded,
  type AchievementCode,
  type AttendanceCounts,
  type Profile,
  type ProfilePatch,
  type ProfileRow,
} from "./profiles";
import { profilesMigrations } from "./profiles.migrations";
import { profilesRoutes } from "./profiles.routes";

type Meta = CampusMeta;
type ProfilesThis = Service &
  DbServiceThis &
  DomainEventsThis & {
    profileOf(ctx: Context<unknown, Meta>): Promise<Profile>;
    awardStudent(ctx: EventContext<{ studentId: string }>, code: AchievementCode): Promise<boolean>;
  };

const PROFILE_COLUMNS = `user_id AS "userId", display_name AS "displayName", bio,
  avatar_url AS "avatarUrl", links, updated_at AS "updatedAt"`;

// Written with plain SQL (upserts); the model only satisfies moleculer-db.
const profileModel = {
  name: "profile",
  define: {
    userId: { type: DataTypes.UUID, primaryKey: true },
    displayName: { type: DataTypes.STRING(100), allowNull: true },
    bio: { type: DataTypes.TEXT, allowNull: false },
    avatarUrl: { type: DataTypes.STRING(2048), allowNull: true },
    links: { type: DataTypes.JSONB, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  },
  options: { tableName: "profiles", timestamps: false },
};

export default function profilesService(config: CampusConfig): CampusServiceSchema<ProfilesThis> {
  return {
    name: "profiles",
    mixins: [
      DbMixin("profiles", config, {
        model: profileModel,
        migrations: profilesMigrations,
        uniqueViolations: {},
      }),
      DomainEventsMixin,
    ],
    settings: { ...profilesRoutes.settings },

    actions: {
      me: {
        ...LONG_READ,
        ...profilesRoutes.actions.me,
        handler(this: ProfilesThis, ctx: Context<unknown, Meta>): Promise<Profile> {
          return this.profileOf(ctx);
        },
      },

      updateMe: {
        ...NOT_RETRIED,
        ...profilesRoutes.actions.updateMe,
        async handler(this: ProfilesThis, ctx: Context<ProfilePatch, Meta>): Promise<Profile> {
          const problems = profilePatchProblems(ctx.params as Record<string, unknown>);
          if (problems.length > 0) throw invalid(problems);
          const patch = normalizedPatch(ctx.params);
          const given = Object.keys(patch) as (keyof ProfilePatch)[];
          if (given.length > 0) {
            const columns = {
              displayName: "display_name",
              bio: "bio",
              avatarUrl: "avatar_url",
              links: "links",
            } as const;
            // Only the fields given change; a first PATCH creates the row with defaults for the rest.
            await this.sequelize.query(
              `INSERT INTO profiles.profiles (user_id, display_name, bio, avatar_url, links, updated_at)
               VALUES (:userId, :displayName, :bio, :avatarUrl, CAST(:links AS jsonb), now())
               ON CONFLICT (user_id) DO UPDATE SET
                 ${given.map((field) => `${columns[field]} = EXCLUDED.${columns[field]}`).join(", ")},
                 updated_at = now()`,
              {
                replacements: {
                  userId: ctx.meta.user!.id,
                  displayName: patch.displayName ?? null,
                  bio: patch.bio ?? "",
                  avatarUrl: patch.avatarUrl ?? null,
                  links: JSON.stringify(patch.links ?? []),
                },
              },
            );
          }
          return this.profileOf(ctx);
        },
      },

      achievements: {
        ...LONG_READ,
        ...profilesRoutes.actions.achievements,
        async handler(
          this: ProfilesThis,
          ctx: Context<{ userId: string }, Meta>,
        ): Promise<{ rows: Achievement[] }> {
          // An unknown user and one without achievements answer alike: nothing tells them apart.
          if (!isUuid(ctx.params.userId)) return { rows: [] };
          const rows = await this.sequelize.query<{ code: string; awardedAt: Date }>(
            `SELECT code, awarded_at AS "awardedAt" FROM profiles.achievements
             WHERE user_id = :userId ORDER BY awarded_at, code`,
            { replacements: { userId: ctx.params.userId.toLowerCase() }, type: QueryTypes.SELECT },
          );
          return {
            rows: rows.filter((row) => Object.hasOwn(ACHIEVEMENTS, row.code)).map(toAchievement),
          };
        },
      },
    },

    // ---- Durable consumers (group "profiles"): a replayed or duplicated event awards nothing ----

    channels: {
      "submission.turned_in": durableConsumer(async function (
        this: ProfilesThis,
        ctx: EventContext<SubmissionTurnedIn>,
      ) {
        await this.awardStudent(ctx, "first_submission");
      }),

      "quiz.scored": durableConsumer(async function (
        this: ProfilesThis,
        ctx: EventContext<QuizScored>,
      ) {
        if (isPerfectScore(ctx.params)) await this.awardStudent(ctx, "perfect_quiz");
      }),

      "enrollment.completed": durableConsumer(async function (
        this: ProfilesThis,
        ctx: EventContext<EnrollmentCompleted>,
      ) {
        const { courseId, studentId } = ctx.params;
        if (!isUuid(courseId) || !isUuid(studentId)) return;
        // Attendance as the schedule service keeps it now (a failed call: the event comes again).
        const counts: AttendanceCounts | null = await ctx.call("schedule.courseAttendanceOf", {
          studentId,
          courseId,
        });
        if (isFullAttendance(counts)) await this.awardStudent(ctx, "full_attendance");
      }),
    },

    methods: {
      /** The caller's profile: stored, or the defaults (display name from the account's email). */
      async profileOf(this: ProfilesThis, ctx: Context<unknown, Meta>): Promise<Profile> {
        const userId = ctx.meta.user!.id;
        const [account, rows] = await Promise.all([
          ctx.call<User, object>("users.me", {}),
          this.sequelize.query<ProfileRow>(
            `SELECT ${PROFILE_COLUMNS} FROM profiles.profiles WHERE user_id = :userId`,
            { replacements: { userId }, type: QueryTypes.SELECT },
          ),
        ]);
        return toProfile(userId, account.email, rows[0] ?? null);
      },

      /**
       * Awards `code` to the account of the event's student, once: the award and its
       * `achievement.awarded` event are written in one transaction, and only when the award is new.
       * A student without an account earns nothing. Returns whether this event awarded it.
       */
      async awardStudent(
        this: ProfilesThis,
        ctx: EventContext<{ studentId: string }>,
        code: AchievementCode,
      ): Promise<boolean> {
        const { studentId, eventId } = ctx.params;
        if (!isUuid(studentId) || !isUuid(eventId)) {
          this.logger.warn("Malformed event ignored", { code, eventId });
          return false;
        }
        const [account] = await ctx.call<{ userId: string }[], { studentIds: string[] }>(
          "users.accountsOfStudents",
          { studentIds: [studentId.toLowerCase()] },
        );
        if (!account) {
          this.logger.debug("A student without an account earns no achievement", { code });
          return false;
        }
        const awarded = await this.sequelize.transaction(async (transaction) => {
          const inserted = await this.sequelize.query<{ awardedAt: Date }>(
            `INSERT INTO profiles.achievements (user_id, code, event_id)
             VALUES (:userId, :code, :eventId)
             ON CONFLICT (user_id, code) DO NOTHING
             RETURNING awarded_at AS "awardedAt"`,
            {
              replacements: { userId: account.userId, code, eventId },
              type: QueryTypes.SELECT,
              transaction,
            },
          );
          if (inserted.length === 0) return false;
          const event: AchievementAwarded = {
            userId: account.userId,
            code,
            title: ACHIEVEMENTS[code],
            awardedAt: new Date(inserted[0].awardedAt).toISOString(),
          };
          await this.recordEvent(ctx, transaction, "achievement.awarded", event);
          return true;
        });
        if (awarded) countAchievement(this.broker, code);
        this.logger.info(awarded ? "Achievement awarded" : "Achievement already held", {
          code,
          eventId,
        });
        return awarded;
      },
    },
  };
}
