/**
 * Models an experiment loads instead of training: a model folder (model.json with model.safetensors,
 * as `idfr train-model` writes it, or with a wrapped TorchScript pair: `"arch": "torchscript"` and
 * the two .pt files). Each is checked against the experiment's data, and identified in cache keys by
 * a hash of its files' bytes, not by its path: replacing the weights invalidates every cached
 * defense, AE set and cell made on them, and moving the folder invalidates nothing.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { contentHash } from "../core/fingerprint.js";
import type { Classifier } from "../models/classifier.js";
import { modelDataMismatches, type DataFacts } from "../models/fits-data.js";
import { loadClassifier, readModelInfo, type ModelInfo } from "../models/io.js";
import { canonical } from "./cache.js";

/** The fields of a config entry that say where its model comes from. */
export interface ModelSourceFields {
  /** A model folder to load instead of training one (resolved to an absolute path by parseExperiment). */
  from?: string;
  /** Run the loaded model at the dataset's image size instead of the size it was saved for. */
  runAtDataSize?: boolean;
}

/** A loaded model with its identity. */
export interface LoadedModel {
  model: Classifier & { info: ModelInfo };
  /** Content hash of the folder's files (model.json's model fields, the weights). */
  weights: string;
  /** The folder it came from. */
  dir: string;
}

/**
 * Checks a `from` entry while the config is parsed: resolves the folder against `baseDir` and reads
 * its model.json. Returns the resolved folder and what model.json says, or a problem in words.
 */
export function resolveModelFolder(from: string, baseDir: string): { dir: string; info: ModelInfo } | { problem: string } {
  const dir = resolve(baseDir, from);
  if (!existsSync(dir)) return { problem: `${dir}: no such folder; expected a model folder (model.json and model.safetensors, as \`idfr train-model\` writes)` };
  if (!statSync(dir).isDirectory()) return { problem: `${dir}: not a folder; expected a model folder (model.json and model.safetensors)` };
  try {
    return { dir, info: readModelInfo(dir) };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/** The files a model folder's weights live in (model.safetensors, or the TorchScript pair). */
function weightFiles(dir: string, info: ModelInfo): string[] {
  return info.arch === "torchscript" ? [join(dir, info.encoder ?? "encoder.pt"), join(dir, info.head ?? "head.pt")] : [join(dir, "model.safetensors")];
}

/**
 * Hash of what a model folder computes: model.json's model fields (architecture, width,
 * normalisation, shapes) and the bytes of its weight files. Recorded accuracy and the like do not count.
 */
export function modelFolderHash(dir: string, info: ModelInfo = readModelInfo(dir)): string {
  const { arch, width, numClasses, inputShape, mean, std } = info;
  const parts: (string | ArrayBufferView)[] = [canonical({ arch, width, numClasses, inputShape, mean, std })];
  for (const file of weightFiles(dir, info)) {
    if (!existsSync(file)) throw new Error(`${dir}: model.json is there but ${file.slice(dir.length + 1)} is missing`);
    parts.push(readFileSync(file));
  }
  return contentHash(parts);
}

/**
 * Loads the model folder of a config entry (`label` is its key path, e.g. "targets.0.from") and
 * checks it against the data: number of channels, image size (unless `runAtDataSize`), number and
 * names of classes, and the dataset it was trained on. Errors start with the key path and the folder.
 */
export function loadModelSource(entry: ModelSourceFields & { from: string }, data: DataFacts, label: string): LoadedModel {
  const dir = entry.from;
  const fail = (why: string): never => {
    throw new Error(`${label}: ${dir}: ${why}`);
  };
  let info: ModelInfo;
  try {
    info = readModelInfo(dir);
  } catch (err) {
    return fail((err as Error).message);
  }
  const [, h, w] = data.shape;
  const shape = entry.runAtDataSize ? [info.inputShape[0], h, w] as [number, number, number] : undefined;
  const mismatches = modelDataMismatches(shape ? { ...info, inputShape: shape } : info, data);
  if (mismatches.length) {
    const hint = !entry.runAtDataSize && mismatches.some((m) => m.startsWith("it takes")) ? ` (set "runAtDataSize": true to run it at ${h}x${w})` : "";
    fail(`the model does not fit ${data.name}: ${mismatches.join("; ")}${hint}`);
  }
  let weights = "";
  let model: Classifier & { info: ModelInfo } | undefined;
  try {
    weights = modelFolderHash(dir, info);
    model = loadClassifier(dir, shape ? { inputShape: shape } : {});
  } catch (err) {
    fail((err as Error).message.replace(`${dir}: `, ""));
  }
  return { model: model!, weights, dir };
}

/**
 * What identifies a config entry's model in cache keys: the entry itself for a model to train (so
 * keys of trained models are as before), the content hash and the size it runs at for a loaded one.
 */
export function modelKeySpec(spec: object, loaded: LoadedModel | undefined): unknown {
  if (!loaded) return spec;
  return { loaded: loaded.weights, inputShape: loaded.model.info.inputShape };
}
