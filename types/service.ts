import type { Service, ServiceSchema, ServiceSettingSchema } from "moleculer";

/** A service schema whose handlers see the service's own `this` (mixins' methods included). */
export type CampusServiceSchema<TThis extends Service> = ServiceSchema<
  ServiceSettingSchema & Record<string, unknown>,
  Record<string, unknown>,
  Record<string, unknown>,
  TThis
>;
