import { Counter, Gauge, Histogram, type Registry } from "@natter/kit";
import type { EdgeMetrics } from "../../domain/ports.ts";

/** The edge's Prometheus series. Label children are cached: frames are the hot path. */
export function prometheusEdgeMetrics(registry: Registry, connections: () => number): EdgeMetrics {
  const registers = [registry];
  new Gauge({ name: "natter_edge_connections", help: "Client connections open now", registers, collect() { this.set(connections()); } });
  const framesIn = new Counter({ name: "natter_edge_frames_in_total", help: "Frames received from clients, by type", labelNames: ["type"], registers });
  const framesOut = new Counter({ name: "natter_edge_frames_out_total", help: "Frames sent to clients, by type", labelNames: ["type"], registers });
  const accepted = new Counter({ name: "natter_messages_accepted_total", help: "Messages stored in JetStream and accepted", registers });
  const delivered = new Counter({ name: "natter_messages_delivered_total", help: "Messages pushed to receiving clients", registers });
  const publishErrors = new Counter({ name: "natter_jetstream_publish_errors_total", help: "JetStream publishes that failed", registers });
  const publishSeconds = new Histogram({
    name: "natter_jetstream_publish_seconds", help: "Time from publish to JetStream's ack",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers,
  });
  const inByType = new Map<string, Counter.Internal>();
  const outByType = new Map<string, Counter.Internal>();
  const child = (counter: Counter, cache: Map<string, Counter.Internal>, type: string) => {
    let found = cache.get(type);
    if (!found) cache.set(type, (found = counter.labels(type)));
    return found;
  };
  return {
    frameIn: (type) => child(framesIn, inByType, type).inc(),
    frameOut: (type) => child(framesOut, outByType, type).inc(),
    accepted: (seconds) => {
      accepted.inc();
      publishSeconds.observe(seconds);
    },
    publishFailed: () => publishErrors.inc(),
    delivered: () => delivered.inc(),
  };
}
