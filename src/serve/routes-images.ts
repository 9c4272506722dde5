/**
 * Image endpoints: `POST /v1/models/{name}:classify` (PNG/JPEG body or multipart files: top-k with
 * and without the defense, optionally the purified image), `POST /v1/models/{name}:attack` (FGSM or
 * PGD at ε, transfer and adaptive, for the page), the page's sample images and the model list.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { badRequest, HttpError } from "./http-error.js";
import { decodeImage, encodePng, encodePngBytes, magnifiedDifference } from "./images.js";
import type { AttackMethod, AttackOutcome, Prediction, ServedModelInfo } from "./protocol.js";
import type { ServeContext } from "./server.js";

/** The largest ε the attack endpoint takes, and the most PGD steps (they run on the worker). */
export const MAX_ATTACK_EPS = 64 / 255;
export const MAX_ATTACK_STEPS = 50;

interface Top {
  index: number;
  label: string;
  probability: number;
}

function topK(logits: Float32Array, row: number, m: ServedModelInfo, k: number): Top[] {
  const n = m.numClasses;
  const z = Array.from(logits.subarray(row * n, (row + 1) * n));
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v, index) => ({ index, label: m.classes[index], probability: v / sum })).sort((a, b) => b.probability - a.probability).slice(0, k);
}

function flag(q: Record<string, string | undefined>, key: string): boolean {
  const v = q[key];
  if (v === undefined) return false;
  if (["1", "true", "yes", ""].includes(v)) return true;
  if (["0", "false", "no"].includes(v)) return false;
  throw badRequest(`?${key}= must be 1 or 0, got ${JSON.stringify(v)}`);
}

/** The images of a classify request: a raw image body, or every file of a multipart body. */
async function requestImages(req: FastifyRequest, maxImages: number, bodyLimit: number): Promise<{ file: string; body: Buffer }[]> {
  if (req.isMultipart()) {
    const out: { file: string; body: Buffer }[] = [];
    let total = 0;
    for await (const part of req.parts()) {
      if (part.type !== "file") continue;
      const body = await part.toBuffer();
      total += body.length;
      // Each file is limited by the multipart parser; the files together by the same body limit.
      if (total > bodyLimit) throw new HttpError(413, `the request body is larger than the limit of ${bodyLimit} bytes (--body-limit)`);
      out.push({ file: part.filename || part.fieldname, body });
    }
    if (out.length === 0) throw badRequest("the multipart body holds no file; attach one or more PNG/JPEG files");
    if (out.length > maxImages) throw new HttpError(413, `${out.length} images in one request; at most ${maxImages} (--max-request-images)`);
    return out;
  }
  const body = req.body;
  if (!Buffer.isBuffer(body)) {
    throw new HttpError(415, `send the image as the body with Content-Type image/png or image/jpeg, or as multipart/form-data files (got ${req.headers["content-type"] ?? "no content type"})`);
  }
  if (body.length === 0) throw badRequest("the body is empty; send a PNG or JPEG image");
  return [{ file: "body", body }];
}

const b64 = (png: Buffer) => png.toString("base64");

export function registerImageRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get("/v1/models", async () => ({
    models: [...ctx.models.values()].map((m) => ({ name: m.name, kind: m.kind, defense: m.defense, arch: m.arch, inputShape: m.inputShape, classes: m.classes, dataset: m.dataset })),
    limits: { maxAttackEps: MAX_ATTACK_EPS, maxAttackSteps: MAX_ATTACK_STEPS, maxRequestImages: ctx.options.maxRequestImages },
  }));

  const samples = new Map<string, Promise<{ index: number; label: number; class: string; png: string }[]>>();
  app.get<{ Params: { name: string } }>("/v1/models/:name/samples", async (req) => {
    const m = ctx.model(req.params.name);
    if (!samples.has(m.name)) {
      samples.set(m.name, (async () => {
        const set = await ctx.worker.samples(m.name);
        if (!set) return [];
        const [n, c, h, w] = set.shape;
        const size = c * h * w;
        return Promise.all(Array.from({ length: n }, async (_, i) => ({
          index: i, label: set.labels[i], class: m.classes[set.labels[i]],
          png: b64(await encodePngBytes(set.images.subarray(i * size, (i + 1) * size), [c, h, w])),
        })));
      })().catch((err) => {
        samples.delete(m.name);
        throw err;
      }));
    }
    return { model_name: m.name, samples: await samples.get(m.name)! };
  });

  app.post<{ Params: { target: string }; Querystring: Record<string, string | undefined> }>("/v1/models/:target", async (req) => {
    const target = req.params.target;
    const at = target.lastIndexOf(":");
    const verb = at >= 0 ? target.slice(at + 1) : "";
    if (verb !== "classify" && verb !== "attack") {
      throw new HttpError(404, `no route POST ${req.url.split("?")[0]}; use /v1/models/{name}:classify or /v1/models/{name}:attack`);
    }
    const m = ctx.model(target.slice(0, at));
    return verb === "classify" ? classify(req, m) : attack(req.body, m);
  });

  async function classify(req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, m: ServedModelInfo) {
    const q = req.query;
    const resize = flag(q, "resize");
    const wantPurified = flag(q, "purified");
    const k = q.topk === undefined ? Math.min(3, m.numClasses) : Number(q.topk);
    if (!Number.isInteger(k) || k < 1 || k > m.numClasses) throw badRequest(`?topk= must be an integer from 1 to ${m.numClasses}, got ${JSON.stringify(q.topk)}`);
    if (wantPurified && m.kind !== "defense") throw badRequest(`?purified=1: ${m.name} is a model without a defense, it purifies nothing`);
    const images = await requestImages(req, ctx.options.maxRequestImages, ctx.options.bodyLimit);
    const pixels = m.inputShape[0] * m.inputShape[1] * m.inputShape[2];
    const decoded = await Promise.all(images.map((im) => decodeImage(images.length > 1 ? im.file : "the image", im.body, m.inputShape, resize)));
    const data = new Float32Array(decoded.length * pixels);
    decoded.forEach((d, i) => data.set(d, i * pixels));
    const r = await ctx.batcher.submit(m.name, { data, purified: wantPurified }, decoded.length);
    const results = await Promise.all(images.map(async (im, i) => {
      const out: Record<string, unknown> = { file: im.file, top_undefended: topK(r.logits, i, m, k) };
      if (r.defended) out.top_defended = topK(r.defended, i, m, k);
      if (wantPurified && r.purified) {
        const purified = r.purified.subarray(i * pixels, (i + 1) * pixels);
        const removed = magnifiedDifference(purified, decoded[i]);
        out.purified_png = b64(await encodePng(purified, m.inputShape));
        out.removed_png = b64(await encodePng(removed.image, m.inputShape));
        out.removed_gain = removed.gain;
      }
      return out;
    }));
    return { model_name: m.name, defense: m.defense, results };
  }

  async function attack(body: unknown, m: ServedModelInfo) {
    if (m.kind !== "defense") throw badRequest(`${m.name} is a model without a defense; attacks compare a defense with its undefended model`);
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest(`the body must be a JSON object {"image": <base64 PNG>, "attack": "fgsm"|"pgd", "eps": <0..${MAX_ATTACK_EPS.toFixed(4)}>}`);
    const o = body as Record<string, unknown>;
    const method = o.attack as AttackMethod;
    if (method !== "fgsm" && method !== "pgd") throw badRequest(`"attack" must be "fgsm" or "pgd", got ${JSON.stringify(o.attack)}`);
    const eps = o.eps;
    if (typeof eps !== "number" || !Number.isFinite(eps) || eps <= 0 || eps > MAX_ATTACK_EPS) throw badRequest(`"eps" must be a number in (0, ${MAX_ATTACK_EPS.toFixed(4)}] (64/255 on the [0, 1] scale), got ${JSON.stringify(eps)}`);
    const steps = o.steps ?? 10;
    if (typeof steps !== "number" || !Number.isInteger(steps) || steps < 1 || steps > MAX_ATTACK_STEPS) throw badRequest(`"steps" must be an integer from 1 to ${MAX_ATTACK_STEPS}, got ${JSON.stringify(o.steps)}`);
    if (typeof o.image !== "string" || o.image.length === 0) throw badRequest(`"image" must be a base64-encoded PNG or JPEG`);
    const label = o.label;
    if (label !== undefined && (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label >= m.numClasses)) {
      throw badRequest(`"label" must be a class index from 0 to ${m.numClasses - 1}, got ${JSON.stringify(label)}`);
    }
    const x = await decodeImage("image", Buffer.from(o.image.replace(/^data:[^,]*,/, ""), "base64"), m.inputShape, o.resize === true);
    const r = await ctx.batcher.exclusive(m.name, () => ctx.worker.attack({ model: m.name, data: x.slice(), rows: 1, method, eps, steps: method === "pgd" ? steps : 1, labels: label === undefined ? undefined : [label] }));
    const top = (p: Prediction) => ({ index: p.index, label: m.classes[p.index], probability: p.probability });
    const outcome = async (a: AttackOutcome) => {
      const diff = magnifiedDifference(x, a.adversarial, 0.5 / eps);
      return {
        image_png: b64(await encodePng(a.adversarial, m.inputShape)),
        perturbation_png: b64(await encodePng(diff.image, m.inputShape)), perturbation_gain: diff.gain,
        linf: a.linf[0], undefended: top(a.undefended[0]), defended: top(a.defended[0]),
      };
    };
    return {
      model_name: m.name, attack: method, eps, steps: method === "pgd" ? steps : 1, label: r.labels[0], label_name: m.classes[r.labels[0]],
      clean: { undefended: top(r.clean.undefended[0]), defended: top(r.clean.defended[0]) },
      transfer: await outcome(r.transfer), adaptive: await outcome(r.adaptive), seconds: r.seconds,
    };
  }
}
