/**
 * Builds one Campus node: a broker from `moleculer.config.ts` with the services that
 * `SERVICES` names. Used by `npm start`, `npm run repl` and the tests, so all run the same wiring.
 */
import { ServiceBroker, type ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { brokerOptions } from "../moleculer.config";
import { ConfigError, type CampusConfig, type DatabaseOwner, type ServiceName } from "./config";
import { healthRoute, listenerSettings } from "./health";

type ServiceFactory = (config: CampusConfig) => unknown;

/*
 * Each service is loaded only when this node runs it (Moleculer's runner convention:
 * services/<name>/<name>.service.ts), so a gateway-only node loads no database code. `require`
 * keeps createNode synchronous; the module path is fixed by the name, not by input.
 */
function serviceFactory(name: ServiceName): ServiceFactory {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`../services/${name}/${name}.service`) as { default: ServiceFactory }).default;
}

/** A node without the gateway still answers `/health/*` on PORT, and nothing else. */
function healthOnlyService(config: CampusConfig): ServiceSchema {
  return {
    name: "health",
    mixins: [ApiGateway as unknown as Partial<ServiceSchema>],
    settings: { ...listenerSettings(config.port), routes: [healthRoute()] },
  } as ServiceSchema;
}

export function createNode(
  config: CampusConfig,
  services: ServiceName[] = config.services,
): ServiceBroker {
  const embedded = services.filter(
    (name): name is DatabaseOwner => name !== "api" && !config.databaseUrls[name],
  );
  if (config.transporter && embedded.length > 0) {
    // The embedded PostgreSQL lives inside one process; cluster nodes need a shared server.
    throw new ConfigError(
      `${embedded.join(", ")} need DATABASE_URL (or <SERVICE>_DATABASE_URL) when TRANSPORTER is set: ` +
        "the embedded database serves a single process",
    );
  }
  const broker = new ServiceBroker(brokerOptions(config));
  for (const name of services) broker.createService(serviceFactory(name)(config) as ServiceSchema);
  if (!services.includes("api")) broker.createService(healthOnlyService(config));
  return broker;
}
