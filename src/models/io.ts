/**
 * A trained classifier on disk: a folder with `model.safetensors` (PyTorch state-dict keys) and
 * `model.json` (architecture, width, normalisation, dataset, classes, accuracy, seed).
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadSafetensors, saveSafetensors } from "../torch/index.js";
import { writeFileAtomic } from "../core/atomic-write.js";
import { readJsonFile } from "../core/json-file.js";
import type { Classifier } from "./classifier.js";
import { createClassifier } from "./registry.js";
import type { SplitClassifier } from "./split.js";
import { TorchScriptClassifier } from "./torchscript.js";

/** What model.json records. */
export interface ModelInfo {
  arch: string;
  width: number;
  numClasses: number;
  inputShape: [number, number, number];
  embeddingDim: number;
  mean: number[];
  std: number[];
  dataset?: string;
  classes?: string[];
  /** Test (or validation) accuracy in [0, 1] measured after training. */
  accuracy?: number;
  seed?: number;
  /** Training mode, e.g. "standard" or "fast-at". */
  training?: string;
  epochs?: number;
  /** For wrapped TorchScript models: the two files. */
  encoder?: string;
  head?: string;
}

export function modelInfo(model: SplitClassifier, extra: Partial<ModelInfo> = {}): ModelInfo {
  const c = model.config;
  return { arch: c.arch, width: c.width, numClasses: c.numClasses, inputShape: c.inputShape, embeddingDim: model.embeddingDim,
    mean: c.mean, std: c.std, ...extra };
}

/** Writes model.safetensors and model.json into `dir` (created if needed), each atomically. */
export function saveClassifier(dir: string, model: SplitClassifier, extra: Partial<ModelInfo> = {}): ModelInfo {
  mkdirSync(dir, { recursive: true });
  const info = modelInfo(model, extra);
  saveSafetensors(join(dir, "model.safetensors"), model.stateDict(), { format: "pt", arch: info.arch });
  writeFileAtomic(join(dir, "model.json"), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/** Reads model.json of a model folder, with errors naming the file. */
export function readModelInfo(dir: string): ModelInfo {
  const path = join(dir, "model.json");
  if (!existsSync(path)) throw new Error(`${dir}: not a model folder (no model.json); train one with \`idfr train-model\``);
  const info = readJsonFile(path, "the model description") as ModelInfo;
  for (const key of ["arch", "numClasses", "inputShape"] as const) {
    if (info[key] === undefined) throw new Error(`${path}: missing "${key}"`);
  }
  return info;
}

/** Loads a classifier folder: a built-in architecture with its weights, or a wrapped TorchScript pair. */
export function loadClassifier(dir: string): Classifier & { info: ModelInfo } {
  const info = readModelInfo(dir);
  if (info.arch === "torchscript") {
    const model = TorchScriptClassifier.load(join(dir, info.encoder ?? "encoder.pt"), join(dir, info.head ?? "head.pt"), info);
    return Object.assign(model, { info });
  }
  const model = createClassifier(info.arch, { numClasses: info.numClasses, inputShape: info.inputShape, width: info.width ?? 1,
    normalization: { mean: info.mean, std: info.std } });
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
