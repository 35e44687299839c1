/**
 * Profiles: the fields a user may set on their profile and their rules (lengths, http/https URLs
 * only, at most 5 links, no unknown field), the profile's public shape with its defaults, and the
 * achievement rules — which event earns which achievement.
 */
import type { FieldError } from "../../lib/errors";

// ---- Limits (documented in docs/profiles.md) ----
export const MAX_DISPLAY_NAME_LENGTH = 100;
export const MAX_BIO_LENGTH = 2000;
export const MAX_LINKS = 5;
export const MAX_PROFILE_URL_LENGTH = 2048;

export const PROFILE_FIELDS = ["displayName", "bio", "avatarUrl", "links"] as const;
type ProfileField = (typeof PROFILE_FIELDS)[number];

const profileUrl = { type: "string", max: MAX_PROFILE_URL_LENGTH } as const;

/**
 * PATCH /api/profiles/me: each field optional. Type and length rules here (fastest-validator);
 * the URL schemes and unknown fields are `profilePatchProblems` (every refused field named).
 */
export const profilePatchFields = {
  displayName: { type: "string", trim: true, min: 1, max: MAX_DISPLAY_NAME_LENGTH, optional: true },
  bio: { type: "string", max: MAX_BIO_LENGTH, optional: true },
  avatarUrl: { ...profileUrl, nullable: true, optional: true },
  links: { type: "array", items: profileUrl, max: MAX_LINKS, optional: true },
} as const;

export interface ProfilePatch {
  displayName?: string;
  bio?: string;
  avatarUrl?: string | null;
  links?: string[];
}

/** Why a URL may not be shown to other users as a link or an image, or null when it may. */
export function urlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not an absolute URL";
  }
  // javascript:, data:, file:, … would run or read something in the viewer's browser.
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http or https URL";
  if (url.username || url.password) return "must not carry a user name or password";
  // What is stored is the parsed form, which percent-encodes: it must fit too.
  if (url.href.length > MAX_PROFILE_URL_LENGTH)
    return `must be at most ${MAX_PROFILE_URL_LENGTH} characters once encoded`;
  return null;
}

/**
 * What fastest-validator cannot say of a PATCH body: names it does not know (the request is
 * refused rather than half applied) and URLs that are not http/https. Each problem names its field.
 */
export function profilePatchProblems(params: Record<string, unknown>): FieldError[] {
  const problems: FieldError[] = [];
  for (const key of Object.keys(params)) {
    if (!(PROFILE_FIELDS as readonly string[]).includes(key)) {
      problems.push({ field: key, message: "is not a profile field", type: "unknownField" });
    }
  }
  const { avatarUrl, links } = params as ProfilePatch;
  if (typeof avatarUrl === "string") {
    const problem = urlProblem(avatarUrl);
    if (problem) problems.push({ field: "avatarUrl", message: problem, type: "url" });
  }
  for (const [index, link] of (links ?? []).entries()) {
    const problem = urlProblem(link);
    if (problem) problems.push({ field: `links[${index}]`, message: problem, type: "url" });
  }
  return problems;
}

/** The given fields only, URLs as the WHATWG parser writes them (what is stored and shown). */
export function normalizedPatch(params: ProfilePatch): ProfilePatch {
  const patch: ProfilePatch = {};
  for (const field of PROFILE_FIELDS as readonly ProfileField[]) {
    if (params[field] === undefined) continue;
    if (field === "avatarUrl") patch.avatarUrl = params.avatarUrl && new URL(params.avatarUrl).href;
    else if (field === "links") patch.links = params.links!.map((link) => new URL(link).href);
    else patch[field] = params[field];
  }
  return patch;
}

export interface Profile {
  userId: string;
  displayName: string;
  bio: string;
  avatarUrl: string | null;
  links: string[];
  /** null: never changed (every field is its default). */
  updatedAt: string | null;
}

export interface ProfileRow {
  userId: string;
  displayName: string | null;
  bio: string;
  avatarUrl: string | null;
  links: string[];
  updatedAt: Date;
}

/** A profile's name until its user sets one: the local part of the account's email. */
export function defaultDisplayName(email: string): string {
  const at = email.lastIndexOf("@");
  const local = at > 0 ? email.slice(0, at) : email;
  return local.slice(0, MAX_DISPLAY_NAME_LENGTH);
}

/** The stored profile, or the defaults for a user who never changed theirs. */
export function toProfile(userId: string, email: string, row: ProfileRow | null): Profile {
  return {
    userId,
    displayName: row?.displayName ?? defaultDisplayName(email),
    bio: row?.bio ?? "",
    avatarUrl: row?.avatarUrl ?? null,
    links: row?.links ?? [],
    updatedAt: row ? new Date(row.updatedAt).toISOString() : null,
  };
}

// ---- Achievements ----

export const ACHIEVEMENTS = {
  first_submission: "First submission",
  perfect_quiz: "Perfect quiz",
  full_attendance: "Full attendance",
} as const;
export type AchievementCode = keyof typeof ACHIEVEMENTS;
export const ACHIEVEMENT_CODES = Object.keys(ACHIEVEMENTS) as AchievementCode[];

export interface Achievement {
  code: AchievementCode;
  title: string;
  awardedAt: string;
}

/** `achievement.awarded`: what the notifications service tells the user. */
export interface AchievementAwarded {
  userId: string;
  code: AchievementCode;
  title: string;
  awardedAt: string;
}

export function toAchievement(row: { code: string; awardedAt: Date | string }): Achievement {
  const code = row.code as AchievementCode;
  return { code, title: ACHIEVEMENTS[code], awardedAt: new Date(row.awardedAt).toISOString() };
}

/** `quiz.scored` earns `perfect_quiz` when the attempt got every point (an expired one too). */
export function isPerfectScore(event: { score: unknown; maxPoints: unknown }): boolean {
  const { score, maxPoints } = event;
  return (
    typeof score === "number" &&
    typeof maxPoints === "number" &&
    maxPoints > 0 &&
    // Scores are kept to hundredths: compare at that precision.
    Math.round(score * 100) >= Math.round(maxPoints * 100)
  );
}

/** A student's attendance in one course, as the schedule service summarises it. */
export interface AttendanceCounts {
  lessons: number;
  present: number;
  late: number;
  absent: number;
  excused: number;
}

/**
 * `enrollment.completed` earns `full_attendance` when every lesson of the course with the
 * student's attendance recorded is present, late or excused — and at least one is, so a course
 * whose attendance was never taken earns nothing.
 */
export function isFullAttendance(counts: AttendanceCounts | null): boolean {
  return counts !== null && counts.lessons > 0 && counts.absent === 0;
}
