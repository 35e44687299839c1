/**
 * users — accounts, registration, login and access tokens (own database). Registration creates
 * the student record through the students service and undoes it if the account cannot be made.
 */
import type { Context } from "moleculer";
import { DataTypes, Op, QueryTypes, type WhereOptions } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { recordIdAttribute } from "../../lib/database";
import { FAST_FAILOVER, NOT_RETRIED } from "../../lib/fault-tolerance";
import { conflict, invalid, notFound, tooManyRequests, unauthorized } from "../../lib/errors";
import { created, noContent } from "../../lib/responses";
import { isUuid, uuidListParam } from "../../lib/ids";
import { countLogin, outcomeHooks } from "../../lib/metrics";
import { containsPattern, findPage, mapPage } from "../../lib/paging";
import { decoyPasswordHash, hashPassword, passwordProblems, verifyPassword } from "./passwords";
import type { Student } from "../students/students";
import { signAccessToken, type AccountState, type Role } from "../../lib/tokens";
import { accountLinkProblems } from "./accounts";
import {
  FORGET_OLD_LOGIN_FAILURES_SQL,
  KNOWN_ADDRESS_SQL,
  LOGIN_FAILURES_SQL,
  LOGIN_WINDOW_MS,
  loginRefusal,
  RECORD_LOGIN_FAILURE_SQL,
  RECORD_LOGIN_SUCCESS_SQL,
  throttleKey,
  type LoginFailures,
} from "./login-throttle";
import { usersMigrations } from "./users.migrations";
import {
  CacheCleanerMixin,
  cacheKeys,
  type CacheCleanerThis,
} from "../../mixins/cache-cleaner.mixin";
import { DbMixin } from "../../mixins/db.mixin";
import { DomainEventsMixin, durableConsumer } from "../../mixins/domain-events.mixin";
import { usersRoutes } from "./users.routes";
import { rowLoader, type Row } from "../../lib/row-loader";
import type DataLoader from "dataloader";
import type { CampusMeta, CampusServiceSchema, DbEventsThis } from "../../types/service";

type Meta = CampusMeta;

interface UserRow {
  id: string;
  email: string;
  passwordHash: string;
  role: Role;
  studentId: string | null;
  disabled: boolean;
  tokenVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface User {
  id: string;
  email: string;
  role: Role;
  studentId: string | null;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    studentId: row.studentId,
    disabled: row.disabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

type UsersThis = DbEventsThis &
  CacheCleanerThis & {
    settings: { config: CampusConfig };
    /** `users.account` reads, batched (lib/row-loader.ts): every request of an uncached gateway asks. */
    accountById: DataLoader<string, Row | null>;
    findRow(id: string): Promise<UserRow>;
    issueToken(
      user: User,
      tokenVersion: number,
    ): {
      accessToken: string;
      tokenType: "Bearer";
      expiresIn: number;
      user: User;
    };
    createAccount(values: {
      email: string;
      password: string;
      role: Role;
      studentId: string | null;
    }): Promise<User>;
    accountKeys(id: string): string[];
  };

const userModel = {
  name: "user",
  define: {
    id: recordIdAttribute(),
    email: { type: DataTypes.STRING(254), allowNull: false },
    passwordHash: { type: DataTypes.TEXT, allowNull: false },
    role: { type: DataTypes.STRING(16), allowNull: false },
    studentId: { type: DataTypes.UUID, allowNull: true },
    disabled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    tokenVersion: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
  },
  options: { tableName: "users" },
};

const INVALID_CREDENTIALS = "Invalid email or password";

/** Registration's one answer for a taken email, whether an account or a student record has it. */
const emailInUse = () => conflict("This email is already registered", "DUPLICATE_EMAIL");
/** The user id looked up for an email without an account: no account has it. */
const NO_ACCOUNT = "00000000-0000-0000-0000-000000000000";

export default function usersService(config: CampusConfig): CampusServiceSchema<UsersThis> {
  return {
    name: "users",
    mixins: [
      DbMixin("users", config, {
        model: userModel,
        migrations: usersMigrations,
        uniqueViolations: {
          users_email_key: {
            message: "An account with this email already exists",
            type: "DUPLICATE_EMAIL",
          },
          users_student_key: {
            message: "This student already has an account",
            type: "DUPLICATE_ACCOUNT",
          },
        },
      }),
      CacheCleanerMixin,
      DomainEventsMixin,
    ],
    settings: { ...usersRoutes.settings, config, $secureSettings: ["config"] },
    // campus_logins_total{result} (ok, invalid, locked) and campus_login_failures_total.
    hooks: outcomeHooks("login", countLogin),

    actions: {
      // ---- Auth (the gateway's /api/auth route) ----

      register: {
        ...NOT_RETRIED,
        ...usersRoutes.actions.register,
        async handler(
          this: UsersThis,
          ctx: Context<
            { email: string; password: string; firstName: string; lastName: string },
            Meta
          >,
        ) {
          const { firstName, lastName } = ctx.params;
          const address = ctx.params.email.toLowerCase();
          const problems = passwordProblems(ctx.params.password, address);
          if (problems.length > 0) throw invalid(problems);
          // Hashed first, whatever happens next: an email taken by an account or by a student
          // record answers the same 409 after the same work (no existence leak by timing), and
          // no transaction waits on scrypt.
          const passwordHash = await hashPassword(ctx.params.password);
          const existing = await this.adapter.model.count({ where: { email: address } });
          if (existing > 0) throw emailInUse();
          const student: Student = await ctx
            .call<Student, Record<string, string>>("students.createRecord", {
              firstName,
              lastName,
              email: address,
            })
            .catch((err: { code?: unknown }) => {
              throw err.code === 409 ? emailInUse() : err;
            });
          let user: User;
          try {
            user = await this.sequelize.transaction(async (transaction) => {
              const row = await this.adapter.model.create(
                { email: address, passwordHash, role: "student", studentId: student.id },
                { transaction },
              );
              const created = toUser(row.get({ plain: true }) as UserRow);
              await this.recordEvent(ctx, transaction, "user.registered", {
                userId: created.id,
                studentId: student.id,
                firstName,
              });
              return created;
            });
          } catch (err) {
            // No half-written registration: the student record goes if the account could not be made.
            await ctx.call("students.deleteRecord", { id: student.id }).catch((undoErr: Error) =>
              this.logger.error("Could not undo the student record of a failed registration", {
                studentId: student.id,
                error: undoErr.message,
              }),
            );
            throw err;
          }
          return created(ctx, "/api/auth/me", this.issueToken(user, 0));
        },
      },

      login: {
        ...NOT_RETRIED,
        ...usersRoutes.actions.login,
        async handler(
          this: UsersThis,
          ctx: Context<{ email: string; password: string }, { clientAddress?: string }>,
        ) {
          const address = ctx.params.email.trim().toLowerCase();
          const row = (await this.adapter.model.findOne({ where: { email: address } }))?.get({
            plain: true,
          }) as UserRow | undefined;
          // The same queries and the same password work whether or not the email has an account,
          // so neither the answer nor its timing tells which emails exist.
          const keys = {
            emailKey: throttleKey(address),
            addressKey: throttleKey(ctx.meta.clientAddress ?? "unknown"),
            windowSeconds: LOGIN_WINDOW_MS / 1000,
          };
          const userId = row?.id ?? NO_ACCOUNT;
          const known = await this.sequelize.query(KNOWN_ADDRESS_SQL, {
            replacements: { ...keys, userId },
            type: QueryTypes.SELECT,
          });
          const [failures] = await this.sequelize.query<LoginFailures>(LOGIN_FAILURES_SQL, {
            replacements: { ...keys, trusted: known.length > 0 },
            type: QueryTypes.SELECT,
          });
          const refusal = loginRefusal(failures, Date.now(), this.settings.config.loginBackoffMs);
          // Refused before the password is checked: the attempt neither counts nor costs scrypt.
          if (refusal)
            throw tooManyRequests(
              "Too many failed logins for this email; wait before trying again",
              refusal.retryAfterSeconds,
            );

          const valid = await verifyPassword(
            ctx.params.password,
            row?.passwordHash ?? (await decoyPasswordHash()),
          );
          if (!row || !valid) {
            const [counted] = await this.sequelize.query<{ failures: number }>(
              RECORD_LOGIN_FAILURE_SQL,
              { replacements: keys, type: QueryTypes.SELECT },
            );
            await this.sequelize.query(FORGET_OLD_LOGIN_FAILURES_SQL, { replacements: keys });
            this.logger.warn("Login failed", {
              userId: row?.id ?? null,
              failures: counted?.failures,
            });
            throw unauthorized(INVALID_CREDENTIALS, "INVALID_CREDENTIALS");
          }
          if (row.disabled) throw unauthorized(INVALID_CREDENTIALS, "INVALID_CREDENTIALS");
          await this.sequelize.query(RECORD_LOGIN_SUCCESS_SQL, {
            replacements: { ...keys, userId: row.id },
          });
          return this.issueToken(toUser(row), row.tokenVersion);
        },
      },

      me: {
        ...FAST_FAILOVER,
        ...usersRoutes.actions.me,
        async handler(this: UsersThis, ctx: Context<unknown, Meta>): Promise<User> {
          return toUser(await this.findRow(ctx.meta.user!.id));
        },
      },

      // ---- Account management (admin) ----

      list: {
        ...FAST_FAILOVER,
        ...usersRoutes.actions.list,
        async handler(
          this: UsersThis,
          ctx: Context<{ page?: number; pageSize?: number; search?: string; role?: Role }>,
        ) {
          const where: WhereOptions = {};
          if (ctx.params.search)
            Object.assign(where, { email: { [Op.iLike]: containsPattern(ctx.params.search) } });
          if (ctx.params.role) Object.assign(where, { role: ctx.params.role });
          const page = await findPage<UserRow>(this.adapter.model, ctx.params, {
            where,
            order: [
              ["email", "ASC"],
              ["id", "ASC"],
            ],
          });
          return mapPage(page, toUser);
        },
      },

      create: {
        ...NOT_RETRIED,
        ...usersRoutes.actions.create,
        async handler(
          this: UsersThis,
          ctx: Context<
            { email: string; password: string; role: Role; studentId?: string | null },
            Meta
          >,
        ) {
          const address = ctx.params.email.toLowerCase();
          const problems = passwordProblems(ctx.params.password, address);
          problems.push(...accountLinkProblems(ctx.params.role, ctx.params.studentId));
          if (problems.length > 0) throw invalid(problems);
          if (ctx.params.studentId) await ctx.call("students.byId", { id: ctx.params.studentId });
          const user = await this.createAccount({
            email: address,
            password: ctx.params.password,
            role: ctx.params.role,
            studentId: ctx.params.studentId ?? null,
          });
          return created(ctx, `/api/users/${user.id}`, user);
        },
      },

      get: {
        ...FAST_FAILOVER,
        ...usersRoutes.actions.get,
        async handler(this: UsersThis, ctx: Context<{ id: string }>): Promise<User> {
          return toUser(await this.findRow(ctx.params.id));
        },
      },

      update: {
        ...NOT_RETRIED,
        ...usersRoutes.actions.update,
        async handler(
          this: UsersThis,
          ctx: Context<{ id: string; role?: Role; password?: string; disabled?: boolean }, Meta>,
        ) {
          const row = await this.findRow(ctx.params.id);
          const self = row.id === ctx.meta.user!.id;
          if (self && ((ctx.params.role && ctx.params.role !== "admin") || ctx.params.disabled)) {
            throw conflict(
              "An administrator cannot demote or disable their own account",
              "SELF_LOCKOUT",
            );
          }
          if (ctx.params.role) {
            // A role change must keep the account's link to a student record consistent.
            const problems = accountLinkProblems(ctx.params.role, row.studentId);
            if (problems.length > 0) throw invalid(problems);
          }
          const changes: Partial<UserRow> = {};
          if (ctx.params.role) changes.role = ctx.params.role;
          if (ctx.params.disabled !== undefined) changes.disabled = ctx.params.disabled;
          if (ctx.params.password !== undefined) {
            const problems = passwordProblems(ctx.params.password, row.email);
            if (problems.length > 0) throw invalid(problems);
            changes.passwordHash = await hashPassword(ctx.params.password);
          }
          // A new password or a disabled account revokes every token issued before.
          if (changes.passwordHash || (changes.disabled && !row.disabled)) {
            changes.tokenVersion = row.tokenVersion + 1;
          }
          if (Object.keys(changes).length === 0) return toUser(row);
          const [, rows] = await this.adapter.model.update(changes, {
            where: { id: row.id },
            returning: true,
          });
          await this.invalidate(ctx, this.accountKeys(row.id));
          return toUser(rows[0].get({ plain: true }) as UserRow);
        },
      },

      remove: {
        ...NOT_RETRIED,
        ...usersRoutes.actions.remove,
        async handler(this: UsersThis, ctx: Context<{ id: string }, Meta>): Promise<null> {
          const row = await this.findRow(ctx.params.id);
          if (row.id === ctx.meta.user!.id) {
            throw conflict("An administrator cannot delete their own account", "SELF_LOCKOUT");
          }
          await this.adapter.model.destroy({ where: { id: row.id } });
          await this.invalidate(ctx, this.accountKeys(row.id));
          return noContent(ctx);
        },
      },

      // ---- Internal ----

      /** The account state the gateway checks a verified token against, on every request. */
      account: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { id: { type: "uuid" } },
        cache: { keys: ["id"], ttl: 60 },
        nearCache: true,
        async handler(this: UsersThis, ctx: Context<{ id: string }>): Promise<AccountState | null> {
          const row = await this.accountById.load(ctx.params.id.toLowerCase());
          return row as unknown as AccountState | null;
        },
      },

      /** Which of these user ids are enabled teacher accounts (course teachers must be). */
      teacherAccounts: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { ids: uuidListParam(100) },
        async handler(this: UsersThis, ctx: Context<{ ids: string[] }>): Promise<string[]> {
          if (ctx.params.ids.length === 0) return [];
          const rows = await this.adapter.model.findAll({
            where: { id: ctx.params.ids, role: "teacher", disabled: false },
            attributes: ["id"],
          });
          return rows.map((row) => row.get("id") as string);
        },
      },

      /**
       * Whether an account other than this student's own has the email (compared as stored, in
       * lower case): the students service refuses such an email change with 409, so a student
       * record and its account never disagree on the email.
       */
      emailTaken: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { email: { type: "string", max: 254 }, studentId: { type: "uuid" } },
        async handler(
          this: UsersThis,
          ctx: Context<{ email: string; studentId: string }>,
        ): Promise<boolean> {
          const taken = await this.adapter.model.count({
            where: {
              email: ctx.params.email.toLowerCase(),
              [Op.or]: [{ studentId: null }, { studentId: { [Op.ne]: ctx.params.studentId } }],
            },
          });
          return taken > 0;
        },
      },

      /** The accounts linked to these students (students without one are left out). */
      accountsOfStudents: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { studentIds: uuidListParam(1000) },
        async handler(
          this: UsersThis,
          ctx: Context<{ studentIds: string[] }>,
        ): Promise<{ userId: string; studentId: string }[]> {
          if (ctx.params.studentIds.length === 0) return [];
          const rows = await this.adapter.model.findAll({
            where: { studentId: ctx.params.studentIds },
            attributes: ["id", "studentId"],
          });
          return rows.map((row) => ({
            userId: row.get("id") as string,
            studentId: row.get("studentId") as string,
          }));
        },
      },
    },

    channels: {
      /** The account of a student follows the student's email. Idempotent. */
      "student.emailChanged": durableConsumer(async function (
        this: UsersThis,
        ctx: Context<{ studentId: string; email: string }>,
      ) {
        try {
          const [, rows] = await this.adapter.model.update(
            { email: ctx.params.email },
            { where: { studentId: ctx.params.studentId }, returning: true },
          );
          for (const row of rows)
            await this.invalidate(ctx, this.accountKeys(row.get("id") as string));
        } catch (err) {
          // Refused up front (students asks `users.emailTaken`); only a race between two
          // changes can land here: the student keeps the old login, and the log says so.
          this.logger.error("Account email not changed: taken by another account", {
            studentId: ctx.params.studentId,
            error: (err as Error).name,
          });
        }
      }),
      /** A deleted student's account goes with the record. Idempotent. */
      "student.deleted": durableConsumer(async function (
        this: UsersThis,
        ctx: Context<{ studentId: string }>,
      ) {
        const rows = await this.adapter.model.findAll({
          where: { studentId: ctx.params.studentId },
        });
        for (const row of rows) {
          const id = row.get("id") as string;
          await this.adapter.model.destroy({ where: { id } });
          await this.invalidate(ctx, this.accountKeys(id));
          this.logger.info("Account of a deleted student removed", { userId: id });
        }
      }),
    },

    methods: {
      async findRow(this: UsersThis, id: string): Promise<UserRow> {
        if (!isUuid(id)) throw notFound("User");
        const row = await this.adapter.model.findByPk(id);
        if (!row) throw notFound("User");
        return row.get({ plain: true }) as UserRow;
      },

      async createAccount(
        this: UsersThis,
        values: { email: string; password: string; role: Role; studentId: string | null },
      ): Promise<User> {
        const row = await this.adapter.model.create({
          email: values.email,
          passwordHash: await hashPassword(values.password),
          role: values.role,
          studentId: values.studentId,
        });
        return toUser(row.get({ plain: true }) as UserRow);
      },

      issueToken(this: UsersThis, user: User, tokenVersion: number) {
        const jwtSettings = this.settings.config.jwt;
        return {
          accessToken: signAccessToken(
            { sub: user.id, role: user.role, ver: tokenVersion },
            jwtSettings,
          ),
          tokenType: "Bearer" as const,
          expiresIn: jwtSettings.expiresInSeconds,
          user,
        };
      },

      accountKeys(id: string): string[] {
        return [cacheKeys.exact("users.account", id)];
      },
    },

    created(this: UsersThis) {
      this.accountById = rowLoader((ids) =>
        this.selectRows(
          "users.accounts",
          `SELECT id, role, student_id AS "studentId", disabled, token_version AS "tokenVersion"
             FROM ${this.tableName} WHERE id = ANY($1::uuid[])`,
          [ids],
        ),
      );
    },

    /** The bootstrap administrator, created once (a concurrent start may win the race). */
    async started(this: UsersThis & { logger: { info(...args: unknown[]): void } }) {
      const { email: adminEmail, password: adminPassword } = this.settings.config.admin;
      const exists = await this.adapter.model.count({ where: { email: adminEmail } });
      if (exists > 0) return;
      try {
        await this.createAccount({
          email: adminEmail,
          password: adminPassword,
          role: "admin",
          studentId: null,
        });
        this.logger.info("Bootstrap administrator created");
      } catch (err) {
        if ((err as Error).name !== "SequelizeUniqueConstraintError") throw err;
      }
    },
  };
}
