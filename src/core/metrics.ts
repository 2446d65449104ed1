/** Prometheus metrics, one registry per hub instance (tests run several in one process). */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "tillbridge_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "tillbridge_http_requests_total",
      help: "HTTP requests by route and status",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "tillbridge_http_request_duration_seconds",
      help: "HTTP request duration by route",
      labelNames: ["method", "route"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    movementsRecorded: new Counter({
      name: "tillbridge_movements_recorded_total",
      help: "Movements recorded in the ledger",
      registers: [registry],
    }),
    movementsDuplicate: new Counter({
      name: "tillbridge_movements_duplicate_total",
      help: "Movements re-sent with an id already recorded (not applied again)",
      registers: [registry],
    }),
    movementBatchesRejected: new Counter({
      name: "tillbridge_movement_batches_rejected_total",
      help: "Movement batches rejected as invalid (nothing applied)",
      registers: [registry],
    }),
    authFailures: new Counter({
      name: "tillbridge_api_auth_failures_total",
      help: "Back-office API requests refused for their API key, by reason (missing, malformed, unknown, revoked, rate_limited)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    shopifyCalls: new Counter({
      name: "tillbridge_shopify_calls_total",
      help: "Shopify Admin API calls by store id and outcome",
      labelNames: ["store", "outcome"] as const,
      registers: [registry],
    }),
    shopifyAvailablePoints: new Gauge({
      name: "tillbridge_shopify_bucket_available_points",
      help: "Cost points available in the store's Shopify API bucket at the last call, by store id",
      labelNames: ["store"] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
