/**
 * Campus's own metrics on every node: registered once when the broker is created, the series a
 * service owns started at 0 when it is created, and the node's readiness (`campus_ready`) taken
 * every few seconds, so Prometheus sees a node fall out of readiness even when nothing probes it.
 */
import type { Middleware, Service, ServiceBroker } from "moleculer";
import { readiness } from "../lib/health";
import { initialiseOwnedSeries, registerCampusMetrics } from "../lib/metrics";

export const READINESS_INTERVAL_MS = 5000;

export function metricsMiddleware(): Middleware {
  let timer: NodeJS.Timeout | null = null;
  return {
    name: "CampusMetrics",
    created(broker: ServiceBroker) {
      registerCampusMetrics(broker);
    },
    serviceCreated(service: Service) {
      initialiseOwnedSeries(service.broker, service.name);
    },
    async started(broker: ServiceBroker) {
      if (!broker.isMetricsEnabled()) return;
      const take = () => void readiness(broker).catch(() => undefined);
      take();
      timer = setInterval(take, READINESS_INTERVAL_MS);
      timer.unref();
    },
    async stopping() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  } as Middleware;
}
