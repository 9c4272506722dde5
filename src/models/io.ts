/**
 * A trained classifier on disk: a folder with `model.safetensors` (PyTorch state-dict keys) and
 * `model.json` (architecture, width, normalisation, dataset, classes, accuracy, seed).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadSafetensors, saveSafetensors, tidy, type Tensor } from "../torch/index.js";
import { z } from "zod";
import { contentHash } from "../core/fingerprint.js";
import { issueLines } from "../core/validate.js";
import { writeFileAtomic } from "../core/atomic-write.js";
import { ensureDir } from "../core/fs.js";
import { readJsonFile } from "../core/json-file.js";
import type { Classifier } from "./classifier.js";
import { createClassifier } from "./registry.js";
import type { SplitClassifier } from "./split.js";
import { TorchScriptClassifier } from "./torchscript.js";

/**
 * What model.json records, declared once: the type, the checks on reading and the version. Files
 * written before the `version` field are read as version 1; keys this version does not know are
 * kept, so a newer file still loads.
 */
export const ModelInfoSchema = z.looseObject({
  version: z.literal(1).default(1),
  arch: z.string().min(1),
  width: z.number().positive().default(1),
  numClasses: z.number().int().min(2),
  inputShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  embeddingDim: z.number().int().positive().optional(),
  mean: z.array(z.number()).optional(),
  std: z.array(z.number()).optional(),
  dataset: z.string().optional(),
  classes: z.array(z.string()).optional(),
  /** Test (or validation) accuracy in [0, 1] measured after training. */
  accuracy: z.number().min(0).max(1).optional(),
  seed: z.number().int().optional(),
  /** Training mode, e.g. "standard" or "fast-at". */
  training: z.string().optional(),
  epochs: z.number().int().optional(),
  /** For wrapped TorchScript models: the two files. */
  encoder: z.string().optional(),
  head: z.string().optional(),
});
export type ModelInfo = z.output<typeof ModelInfoSchema>;

export function modelInfo(model: SplitClassifier, extra: Partial<ModelInfo> = {}): ModelInfo {
  const c = model.config;
  return { version: 1, arch: c.arch, width: c.width, numClasses: c.numClasses, inputShape: c.inputShape, embeddingDim: model.embeddingDim,
    mean: c.mean, std: c.std, ...extra };
}

/** Writes model.safetensors and model.json into `dir` (created if needed), each atomically. */
export function saveClassifier(dir: string, model: SplitClassifier, extra: Partial<ModelInfo> = {}): ModelInfo {
  ensureDir(dir, "the model");
  const info = modelInfo(model, extra);
  saveSafetensors(join(dir, "model.safetensors"), model.stateDict(), { format: "pt", arch: info.arch });
  writeFileAtomic(join(dir, "model.json"), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/** Reads model.json of a model folder, with errors naming the file. */
export function readModelInfo(dir: string): ModelInfo {
  const path = join(dir, "model.json");
  if (!existsSync(path)) throw new Error(`${dir}: not a model folder (no model.json); train one with \`idfr train-model\``);
  const r = ModelInfoSchema.safeParse(readJsonFile(path, "the model description"));
  if (!r.success) throw new Error(`${path}: ${issueLines(r.error).join("; ")}`);
  return r.data;
}

/**
 * Fingerprint of a model's weights (every parameter and buffer, by name), for cache keys: AEs or
 * defenses made on other weights are never reused. Undefined for a bare function, which has none.
 */
export function weightsFingerprint(model: unknown): string | undefined {
  const m = model as { stateDict?: () => Map<string, Tensor>; info?: ModelInfo; forward?: unknown };
  if (typeof m?.stateDict !== "function") return m?.info ? contentHash([JSON.stringify(m.info)]) : undefined;
  const parts: (string | ArrayBufferView)[] = [];
  for (const [name, t] of [...m.stateDict().entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    parts.push(name, t.shape.join("x"), tidy(() => (t.device === "cpu" ? t : t.to("cpu")).toTypedArray()) as ArrayBufferView);
  }
  return contentHash(parts);
}

/**
 * Loads a classifier folder: a built-in architecture with its weights, or a wrapped TorchScript pair.
 * `inputShape` runs it on inputs of another size than it was saved for (architectures that end in
 * global pooling take any size large enough; the weights must still fit, which is checked).
 */
export function loadClassifier(dir: string, options: { inputShape?: readonly [number, number, number] } = {}): Classifier & { info: ModelInfo } {
  const saved = readModelInfo(dir);
  const info = options.inputShape ? { ...saved, inputShape: [...options.inputShape] as [number, number, number] } : saved;
  if (info.arch === "torchscript") {
    const model = TorchScriptClassifier.load(join(dir, info.encoder ?? "encoder.pt"), join(dir, info.head ?? "head.pt"), info);
    return Object.assign(model, { info });
  }
  const model = createClassifier(info.arch, { numClasses: info.numClasses, inputShape: info.inputShape, width: info.width ?? 1,
    normalization: info.mean && info.std ? { mean: info.mean, std: info.std } : undefined });
  const weights = join(dir, "model.safetensors");
  if (!existsSync(weights)) throw new Error(`${dir}: model.json is there but model.safetensors is missing`);
  const { tensors } = loadSafetensors(weights);
  try {
    model.loadStateDict(tensors);
  } catch (err) {
    throw new Error(`${weights}: does not fit ${info.arch} (width ${info.width}): ${(err as Error).message}`);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return Object.assign(model.eval(), { info });
}
