/**
 * The data of an experiment, loaded once per run, with its identity: a fingerprint of every
 * split's pixels and labels, so that cached models, defenses, AEs and cells made from other data
 * (another dataset in the same folder, other files under the same name) are never reused.
 */
import { imagesFingerprint } from "../core/fingerprint.js";
import { loadDataset, type Dataset } from "../data/datasets.js";
import { limitSet } from "../data/splits.js";
import type { ImageSet } from "../data/types.js";
import { ConfigError, type ExperimentConfig, type ModelEntry } from "./config.js";
import { loadModelSource, type LoadedModel } from "./model-source.js";

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
  /** The models loaded from folders (`from`), by target index; undefined where the model is trained. */
  loaded?: { targets: (LoadedModel | undefined)[]; surrogates: (LoadedModel | undefined)[] };
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

/**
 * Loads the config's dataset, takes its training and evaluation images and loads the models given
 * as folders, checked against the data. Everything a config can get wrong about the data (split
 * sizes, more test images than the test split has, a model that does not fit) fails here, before
 * anything is trained, as a ConfigError naming the key.
 */
export async function loadExperimentData(config: ExperimentConfig): Promise<ExperimentData> {
  const d = config.dataset;
  const source = `experiment ${config.name}`;
  let dataset: Dataset;
  try {
    dataset = await loadDataset(d.name, { root: d.root, splitSeed: d.splitSeed, imageSize: d.imageSize, split: d.split });
  } catch (err) {
    if (err instanceof RangeError && err.message.startsWith("split")) throw new ConfigError(source, [`dataset.${err.message}`]);
    throw err;
  }
  const testSize = dataset.splits.test.shape[0];
  if (config.evalImages > testSize) {
    throw new ConfigError(source, [`evalImages: ${config.evalImages} requested, the test split of ${d.name} has ${testSize} images (lower evalImages, or hold out more with dataset.split.test)`]);
  }
  const evalSet = limitSet(dataset.splits.test, config.evalImages, config.seed);
  const adaptive = config.adaptive.evalImages;
  return {
    dataset,
    train: limitSet(dataset.splits.train, d.trainImages, config.seed),
    evalSet,
    adaptiveSet: adaptive === undefined || adaptive >= evalSet.shape[0] ? evalSet : limitSet(evalSet, adaptive, config.seed),
    key: { name: d.name, splits: datasetFingerprint(dataset), trainImages: d.trainImages, splitSeed: d.splitSeed, imageSize: d.imageSize },
    loaded: loadModels(config, dataset, source),
  };
}

/** The config's `from` models, each loaded once and checked against the data; errors name the key. */
function loadModels(config: ExperimentConfig, dataset: Dataset, source: string): ExperimentData["loaded"] {
  const facts = { name: dataset.name, shape: dataset.splits.train.shape.slice(1), classes: dataset.classes };
  const byFolder = new Map<string, LoadedModel>();
  const problems: string[] = [];
  const load = (entry: ModelEntry, label: string): LoadedModel | undefined => {
    if (entry.from === undefined) return undefined;
    const id = `${entry.from}|${entry.runAtDataSize ?? false}`;
    let hit = byFolder.get(id);
    if (!hit) {
      try {
        hit = loadModelSource({ ...entry, from: entry.from }, facts, label);
      } catch (err) {
        problems.push((err as Error).message);
        return undefined;
      }
      byFolder.set(id, hit);
    }
    return hit;
  };
  const loaded = {
    targets: config.targets.map((t, i) => load(t, `targets.${i}.from`)),
    surrogates: config.targets.map((t, i) => load(t.surrogate, `targets.${i}.surrogate.from`)),
  };
  if (problems.length) throw new ConfigError(source, problems);
  return loaded;
}
