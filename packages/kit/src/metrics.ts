import { collectDefaultMetrics, Registry } from "prom-client";

export { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * A Prometheus registry for one service: Node's default metrics (including event-loop
 * delay percentiles) under the `natter_` prefix, every series labelled with the service.
 * Served at `/metrics` by `startHealth`.
 */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "natter_", eventLoopMonitoringPrecision: 10 });
  return registry;
}
