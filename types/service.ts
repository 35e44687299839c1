import type { Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Identity } from "../lib/permissions";
import type { DbServiceThis } from "../mixins/db.mixin";
import type { DomainEventsThis } from "../mixins/domain-events.mixin";

/** A service schema whose handlers see the service's own `this` (mixins' methods included). */
export type CampusServiceSchema<TThis extends Service> = ServiceSchema<
  ServiceSettingSchema & Record<string, unknown>,
  Record<string, unknown>,
  Record<string, unknown>,
  TThis
>;

/** `ctx.meta` of a published action: the caller, and the status and Location the gateway sends. */
export type CampusMeta = { user?: Identity; $statusCode?: number; $location?: string };

/** `this` of a service that owns a database (DbMixin) and publishes domain events through it. */
export type DbEventsThis = Service & DbServiceThis & DomainEventsThis;
