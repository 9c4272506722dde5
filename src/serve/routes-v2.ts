/**
 * The Open Inference Protocol (KServe v2) REST endpoints: server and model health, metadata and
 * infer, with errors as `{"error": "..."}`. A defense folder answers with and without the defense
 * (`logits`/`class` and `logits_defended`/`class_defended`, plus `purified` when asked for).
 */
import { createRequire } from "node:module";
import type { FastifyInstance, FastifyReply } from "fastify";
import { HttpError, badRequest } from "./http-error.js";
import type { ServedModelInfo } from "./protocol.js";
import type { ServeContext } from "./server.js";
import { INPUT_NAME, readTensorInput, requestedOutputs } from "./tensor-input.js";

const VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

/** Output tensors of a model, with their datatype and shape (-1: the batch). */
export function outputSpecs(m: ServedModelInfo): { name: string; datatype: string; shape: number[] }[] {
  const plain = [{ name: "logits", datatype: "FP32", shape: [-1, m.numClasses] }, { name: "class", datatype: "INT64", shape: [-1] }];
  if (m.kind !== "defense") return plain;
  return [...plain, { name: "logits_defended", datatype: "FP32", shape: [-1, m.numClasses] }, { name: "class_defended", datatype: "INT64", shape: [-1] },
    { name: "purified", datatype: "FP32", shape: [-1, ...m.inputShape] }];
}

function argmaxRows(logits: Float32Array, classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * classes < logits.length; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[r * classes + k] > logits[r * classes + best]) best = k;
    out.push(best);
  }
  return out;
}

export function registerV2Routes(app: FastifyInstance, ctx: ServeContext): void {
  app.get("/v2", async () => ({ name: "idfr", version: VERSION, extensions: [] }));
  app.get("/v2/health/live", async () => ({ live: true }));
  app.get("/v2/health/ready", async (_req, reply) => {
    if (!ctx.state.ready || ctx.worker.failure) return reply.code(503).send({ ready: false, ...(ctx.worker.failure ? { error: ctx.worker.failure.message } : {}) });
    return { ready: true };
  });
  app.get<{ Params: { name: string } }>("/v2/models/:name", async (req) => {
    const m = ctx.model(req.params.name);
    return {
      name: m.name, versions: ["1"], platform: "idfr_libtorch",
      inputs: [{ name: INPUT_NAME, datatype: "FP32", shape: [-1, ...m.inputShape] }],
      outputs: outputSpecs(m),
      parameters: { kind: m.kind, defense: m.defense, arch: m.arch, classes: m.classes, accepts: "FP32 in [0, 1] or UINT8 0..255" },
    };
  });
  app.get<{ Params: { name: string; version: string } }>("/v2/models/:name/versions/:version", async (req, reply) => {
    if (req.params.version !== "1") throw new HttpError(404, `model ${JSON.stringify(req.params.name)} has only version "1"`);
    return reply.redirect(`/v2/models/${encodeURIComponent(req.params.name)}`, 307);
  });
  const modelReady = (name: string, version: string | undefined, reply: FastifyReply) => {
    const m = ctx.model(name);
    if (version !== undefined && version !== "1") throw new HttpError(404, `model ${JSON.stringify(name)} has only version "1"`);
    if (!ctx.state.ready || ctx.worker.failure) return reply.code(503).send({ name: m.name, ready: false });
    return { name: m.name, ready: true };
  };
  app.get<{ Params: { name: string } }>("/v2/models/:name/ready", async (req, reply) => modelReady(req.params.name, undefined, reply));
  app.get<{ Params: { name: string; version: string } }>("/v2/models/:name/versions/:version/ready", async (req, reply) => modelReady(req.params.name, req.params.version, reply));
  const infer = async (name: string, body: unknown) => {
    const m = ctx.model(name);
    const input = readTensorInput(body, m.inputShape, ctx.options.maxRequestImages);
    const names = outputSpecs(m).map((s) => s.name);
    const wanted = requestedOutputs(body as Record<string, unknown>, names);
    const id = (body as { id?: unknown }).id;
    if (id !== undefined && typeof id !== "string") throw badRequest(`"id" must be a string, got ${typeof id}`);
    const r = await ctx.batcher.submit(m.name, { data: input.data, purified: wanted.includes("purified") }, input.rows);
    const outputs = wanted.map((n) => {
      const rows = input.rows;
      switch (n) {
        case "logits": return { name: n, datatype: "FP32", shape: [rows, m.numClasses], data: Array.from(r.logits) };
        case "class": return { name: n, datatype: "INT64", shape: [rows], data: argmaxRows(r.logits, m.numClasses) };
        case "logits_defended": return { name: n, datatype: "FP32", shape: [rows, m.numClasses], data: Array.from(r.defended!) };
        case "class_defended": return { name: n, datatype: "INT64", shape: [rows], data: argmaxRows(r.defended!, m.numClasses) };
        default: return { name: n, datatype: "FP32", shape: [rows, ...m.inputShape], data: Array.from(r.purified!) };
      }
    });
    return { model_name: m.name, model_version: "1", ...(id !== undefined ? { id } : {}), outputs };
  };
  app.post<{ Params: { name: string } }>("/v2/models/:name/infer", async (req) => infer(req.params.name, req.body));
  app.post<{ Params: { name: string; version: string } }>("/v2/models/:name/versions/:version/infer", async (req) => {
    if (req.params.version !== "1") throw new HttpError(404, `model ${JSON.stringify(req.params.name)} has only version "1"`);
    return infer(req.params.name, req.body);
  });
}
