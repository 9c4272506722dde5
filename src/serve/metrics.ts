/**
 * The server's Prometheus metrics (prom-client), on a registry of its own so that two servers in
 * one process (tests) do not share counters: requests by route and status, request latency,
 * batch sizes and durations, queue depth, and Node's process metrics (resident memory among them).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ServeMetrics {
  registry: Registry;
  requests: Counter<"method" | "route" | "status">;
  latency: Histogram<"method" | "route">;
  batchSize: Histogram<"model">;
  batchRequests: Histogram<"model">;
  batchSeconds: Histogram<"model">;
  queueDepth: Gauge;
  rejected: Counter<"reason">;
  liveTensors: Gauge;
}

export function createMetrics(): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "idfr_" });
  const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const sizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256];
  return {
    registry,
    requests: new Counter({ name: "idfr_http_requests_total", help: "HTTP requests by method, route and status code", labelNames: ["method", "route", "status"], registers: [registry] }),
    latency: new Histogram({ name: "idfr_http_request_duration_seconds", help: "HTTP request latency (arrival to response sent)", labelNames: ["method", "route"], buckets: latencyBuckets, registers: [registry] }),
    batchSize: new Histogram({ name: "idfr_batch_size_images", help: "Images per batch run by the inference worker", labelNames: ["model"], buckets: sizeBuckets, registers: [registry] }),
    batchRequests: new Histogram({ name: "idfr_batch_size_requests", help: "Requests merged into one batch", labelNames: ["model"], buckets: sizeBuckets, registers: [registry] }),
    batchSeconds: new Histogram({ name: "idfr_batch_duration_seconds", help: "Time the inference worker took per batch", labelNames: ["model"], buckets: latencyBuckets, registers: [registry] }),
    queueDepth: new Gauge({ name: "idfr_queue_depth", help: "Requests waiting for the inference worker", registers: [registry] }),
    liveTensors: new Gauge({ name: "idfr_worker_live_tensors", help: "Native tensors alive in the inference worker after its last batch (the models' own included)", registers: [registry] }),
    rejected: new Counter({ name: "idfr_rejected_total", help: "Requests refused before inference: queue full, timed out, shutting down", labelNames: ["reason"], registers: [registry] }),
  };
}
