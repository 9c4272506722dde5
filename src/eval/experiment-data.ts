/**
 * The data of an experiment, loaded once per run, with its identity: a fingerprint of every
 * split's pixels and labels, so that cached models, defenses, AEs and cells made from other data
 * (another dataset in the same folder, other files under the same name) are never reused.
 */
import { imagesFingerprint } from "../core/fingerprint.js";
import { loadDataset, type Dataset } from "../data/datasets.js";
import { limitSet } from "../data/splits.js";
import type { ImageSet } from "../data/types.js";
import type { ExperimentConfig } from "./config.js";

export interface ExperimentData {
  dataset: Dataset;
  /** The training images models and defenses see (config.dataset.trainImages, balanced). */
  train: ImageSet;
  /** The test images every cell evaluates (config.evalImages, balanced). */
  evalSet: ImageSet;
  /** The images of the adaptive cells: a balanced subset of evalSet (config.adaptive.evalImages), or evalSet itself. */
  adaptiveSet: ImageSet;
  /** Data identity for cache keys: name, split sizes and content fingerprints, and how the images were taken. */
  key: DataKey;
}

export interface DataKey {
  name: string;
  splits: Record<string, { n: number; fingerprint: string }>;
  trainImages?: number;
  splitSeed: number;
  imageSize?: number;
}

/** The fingerprint part of a dataset's identity: per split, its size and a hash of its bytes. */
export function datasetFingerprint(dataset: Dataset): DataKey["splits"] {
  const out: DataKey["splits"] = {};
  for (const [name, set] of Object.entries(dataset.splits) as [string, ImageSet | undefined][]) {
    if (set) out[name] = { n: set.shape[0], fingerprint: imagesFingerprint(set) };
  }
  return out;
}

/** Loads the config's dataset and takes its training and evaluation images. */
export async function loadExperimentData(config: ExperimentConfig): Promise<ExperimentData> {
  const d = config.dataset;
  const dataset = await loadDataset(d.name, { root: d.root, splitSeed: d.splitSeed, imageSize: d.imageSize });
  const evalSet = limitSet(dataset.splits.test, config.evalImages, config.seed);
  const adaptive = config.adaptive.evalImages;
  return {
    dataset,
    train: limitSet(dataset.splits.train, d.trainImages, config.seed),
    evalSet,
    adaptiveSet: adaptive === undefined || adaptive >= evalSet.shape[0] ? evalSet : limitSet(evalSet, adaptive, config.seed),
    key: { name: d.name, splits: datasetFingerprint(dataset), trainImages: d.trainImages, splitSeed: d.splitSeed, imageSize: d.imageSize },
  };
}
