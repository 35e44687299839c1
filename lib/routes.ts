/**
 * The gateway's REST aliases, built once from the services' own `rest` declarations. Static
 * aliases (rather than moleculer-web's autoAliases, which follow the registry) keep every route
 * known while a service is down, so its callers get 503 "unavailable", not 404 "no such route".
 */
interface RestSchema {
  name: string;
  settings?: { rest?: unknown };
  actions?: Record<string, unknown>;
}

function joinPath(base: string, path: string): string {
  const joined = `/${base}/${path}`.replace(/\/+/g, "/");
  return joined.length > 1 ? joined.replace(/\/$/, "") : joined;
}

/** `{"GET /students/:id": "students.get", …}` for every action that declares `rest`. */
export function restAliases(schemas: RestSchema[]): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const schema of schemas) {
    const base =
      typeof schema.settings?.rest === "string" ? schema.settings.rest : `/${schema.name}`;
    for (const [actionName, action] of Object.entries(schema.actions ?? {})) {
      const rest = (action as { rest?: unknown } | null)?.rest;
      if (typeof rest !== "string") continue;
      const [method, path = "/"] = rest.trim().split(/\s+/);
      const key = `${method.toUpperCase()} ${joinPath(base, path)}`;
      if (aliases[key])
        throw new Error(`Two actions claim ${key}: ${aliases[key]}, ${schema.name}.${actionName}`);
      aliases[key] = `${schema.name}.${actionName}`;
    }
  }
  return aliases;
}
