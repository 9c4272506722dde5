/**
 * `idfr serve`'s HTTP server (fastify): the Open Inference Protocol (KServe v2) REST endpoints, an
 * image endpoint, the page, /metrics. Inference runs in one worker thread behind a dynamic batcher;
 * this thread never touches libtorch, so health checks and the page answer under load.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import multipart from "@fastify/multipart";
import { pino, type Logger } from "pino";
import { Batcher, BatcherClosedError, QueueFullError, QueueTimeoutError, type BatcherOptions } from "./batcher.js";
import { DEFAULTS } from "./defaults.js";
import { HttpError } from "./http-error.js";
import { createMetrics, type ServeMetrics } from "./metrics.js";
import type { HostOptions, InferResult, ModelSpec, ServedModelInfo } from "./protocol.js";
import { registerImageRoutes } from "./routes-images.js";
import { registerPageRoutes } from "./routes-page.js";
import { registerV2Routes } from "./routes-v2.js";
import { InferenceWorker, WorkerGoneError } from "./worker-client.js";

/** Everything `idfr serve` can set. */
export interface ServeOptions extends Partial<BatcherOptions> {
  models: ModelSpec[];
  device?: string;
  /** Batch norm folded and inference mode (default true). */
  fastPath?: boolean;
  threads?: number;
  /** Largest request body in bytes (default 16 MiB). */
  bodyLimit?: number;
  /** Most images in one request (default 256). */
  maxRequestImages?: number;
  /** Test images per class for the page (default 2). */
  samplesPerClass?: number;
  /** A pino logger (default: JSON lines on standard output at level "info"). */
  logger?: Logger;
}

/** What a route needs from the server. */
export interface ServeContext {
  models: Map<string, ServedModelInfo>;
  batcher: Batcher<BatchInput, InferResult>;
  worker: InferenceWorker;
  metrics: ServeMetrics;
  options: Required<Pick<ServeOptions, "maxRequestImages" | "bodyLimit">>;
  state: { ready: boolean; closing: boolean };
  /** The model named in a route, or a 404 naming the models served. */
  model(name: string): ServedModelInfo;
}

/** One request's share of a batch. */
export interface BatchInput {
  data: Float32Array;
  purified: boolean;
}

export interface Server {
  app: FastifyInstance;
  models: ServedModelInfo[];
  metrics: ServeMetrics;
  /** Starts listening; resolves with the address (port 0 picks a free one). */
  listen(host: string, port: number): Promise<string>;
  /** Graceful: refuses new connections, finishes what is in flight, stops the worker. */
  close(): Promise<void>;
}

export { DEFAULTS };

/** Splits one batch's result among the requests it merged. */
function split(result: InferResult, rows: number[], classes: number, pixels: number): InferResult[] {
  let at = 0;
  return rows.map((n) => {
    const part = (a: Float32Array | null, width: number) => (a ? a.slice(at * width, (at + n) * width) : null);
    const out = { logits: part(result.logits, classes)!, defended: part(result.defended, classes), purified: part(result.purified, pixels) };
    at += n;
    return out;
  });
}

function errorReply(err: unknown, bodyLimit: number): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof QueueFullError) return new HttpError(503, err.message, { "retry-after": "1" });
  if (err instanceof QueueTimeoutError) return new HttpError(503, err.message, { "retry-after": "5" });
  if (err instanceof BatcherClosedError) return new HttpError(503, err.message, { "retry-after": "5" });
  if (err instanceof WorkerGoneError) return new HttpError(503, `${err.message}; the server cannot run models until it is restarted`);
  const e = err as { code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
    case "FST_REQ_FILE_TOO_LARGE":
      return new HttpError(413, `the request body is larger than the limit of ${bodyLimit} bytes (--body-limit)`);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new HttpError(415, `unsupported content type; send application/json (v2 infer, attack) or image/png, image/jpeg, multipart/form-data (classify)`);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new HttpError(400, "the body is empty but its content type is application/json; send a JSON object");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new HttpError(400, `the body is not valid JSON: ${e.message}`);
    case "FST_FILES_LIMIT":
    case "FST_PARTS_LIMIT":
      return new HttpError(413, `too many files in one request (--max-request-images)`);
  }
  if (err instanceof SyntaxError) return new HttpError(400, `the body is not valid JSON: ${err.message}`);
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new HttpError(e.statusCode, e.message ?? "bad request");
  return new HttpError(500, `internal error: ${e.message ?? String(err)}`);
}

/** Loads the models in a worker and builds the server (not yet listening). */
export async function createServer(o: ServeOptions): Promise<Server> {
  if (o.models.length === 0) throw new Error("no model to serve: give at least one defense or model folder");
  const opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & ServeOptions;
  const logger = o.logger ?? pino({ name: "idfr-serve" });
  const metrics = createMetrics();
  const worker = new InferenceWorker();
  const hostOptions: HostOptions = { device: opts.device, fastPath: opts.fastPath, threads: opts.threads, samplesPerClass: opts.samplesPerClass };
  let infos: ServedModelInfo[];
  try {
    infos = await worker.load(o.models, hostOptions);
  } catch (err) {
    await worker.close();
    throw err;
  }
  const models = new Map(infos.map((m) => [m.name, m]));
  for (const m of infos) logger.info({ model: m.name, kind: m.kind, defense: m.defense, arch: m.arch, inputShape: m.inputShape, foldedPairs: m.foldedPairs, oneDnnLayers: m.oneDnnLayers, dir: m.dir }, "model loaded");

  const batcher = new Batcher<BatchInput, InferResult>(opts, async (model, inputs, rows) => {
    const m = models.get(model)!;
    const pixels = m.inputShape[0] * m.inputShape[1] * m.inputShape[2];
    const total = rows.reduce((a, b) => a + b, 0);
    // A fresh buffer: it is transferred to the worker.
    const data = new Float32Array(total * pixels);
    let at = 0;
    for (const input of inputs) {
      data.set(input.data, at);
      at += input.data.length;
    }
    const result = await worker.infer({ model, data, rows: total, purified: inputs.some((i) => i.purified) });
    if (result.liveTensors !== undefined) metrics.liveTensors.set(result.liveTensors);
    return split(result, rows, m.numClasses, pixels);
  }, {
    queueDepth: (d) => metrics.queueDepth.set(d),
    batch: (model, rows, requests, seconds) => {
      metrics.batchSize.observe({ model }, rows);
      metrics.batchRequests.observe({ model }, requests);
      metrics.batchSeconds.observe({ model }, seconds);
    },
  });

  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }), // one line per request, written below
    bodyLimit: opts.bodyLimit,
    requestTimeout: opts.timeoutMs,
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });
  const state = { ready: false, closing: false };
  const ctx: ServeContext = {
    models, batcher, worker, metrics, state,
    options: { maxRequestImages: opts.maxRequestImages, bodyLimit: opts.bodyLimit },
    model(name: string) {
      const m = models.get(name);
      if (!m) throw new HttpError(404, `unknown model ${JSON.stringify(name)}; this server serves ${[...models.keys()].map((k) => JSON.stringify(k)).join(", ")}`);
      return m;
    },
  };

  await app.register(multipart, { limits: { fileSize: opts.bodyLimit, files: opts.maxRequestImages, fields: 16, parts: opts.maxRequestImages + 16 } });
  app.addContentTypeParser(["image/png", "image/jpeg", "image/webp", "image/gif", "application/octet-stream"], { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const e = errorReply(err, opts.bodyLimit);
    if (e.statusCode >= 500 && e.statusCode !== 503) req.log.error({ err }, "request failed");
    if (e.statusCode === 503) metrics.rejected.inc({ reason: err instanceof QueueFullError ? "queue_full" : err instanceof QueueTimeoutError ? "timeout" : "closing" });
    void reply.code(e.statusCode).headers(e.headers).send({ error: e.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url.split("?")[0]}; see GET /v2 (the KServe v2 endpoints), POST /v1/models/{name}:classify, GET / (the page)` });
  });
  app.addHook("onResponse", (req: FastifyRequest, reply: FastifyReply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, "request");
    done();
  });

  // While closing, every answer ends its keep-alive connection, so close() need not wait for the
  // clients' idle timeouts.
  app.addHook("onSend", async (_req, reply, payload) => {
    if (state.closing) void reply.header("connection", "close");
    return payload;
  });

  app.get("/metrics", async (_req, reply) => {
    void reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  registerV2Routes(app, ctx);
  registerImageRoutes(app, ctx);
  registerPageRoutes(app, ctx);
  await app.ready();
  state.ready = true;

  let closing: Promise<void> | null = null;
  return {
    app, models: infos, metrics,
    async listen(host, port) {
      const url = await app.listen({ host, port });
      logger.info({ url, models: [...models.keys()] }, "serving");
      return url;
    },
    close() {
      closing ??= (async () => {
        state.ready = false;
        state.closing = true;
        batcher.hurry();
        await app.close(); // waits for the requests in flight, which wait for their batches
        await batcher.drain();
        await worker.close();
        logger.info("closed");
      })();
      return closing;
    },
  };
}
