import { existsSync } from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DIGIT_CLASSES, FASHION_MNIST_CLASSES } from "./embedded.js";
import { DataFormatError, withFileErrors } from "./errors.js";
import { cifarRecordSize, readCifarFiles, readLabelNames, type CifarVariant } from "./formats/cifar.js";
import { isGzip } from "./formats/gzip.js";
import { readIdxImageSet } from "./formats/idx.js";
import { readSvhnMat } from "./formats/svhn.js";
import type { DatasetName } from "./datasets.js";
import type { ImageSet } from "./types.js";

/**
 * Tells what a path holds from its contents (magic bytes, sizes, the files a folder contains),
 * not from what the user calls it.
 */
export type SniffResult =
  | { kind: "dataset"; dataset: DatasetName; root: string }
  | { kind: "file"; format: "idx" | CifarVariant | "mat"; file: string };

/** Looks at a file or folder and says which dataset or file format it holds. */
export async function sniffPath(path: string): Promise<SniffResult> {
  const what = "a dataset folder or a data file (idx, CIFAR binary, SVHN .mat)";
  const info = await withFileErrors(path, what, () => stat(path));
  if (info.isDirectory()) return sniffFolder(path, what);
  const head = new Uint8Array(128);
  const handle = await withFileErrors(path, what, () => open(path, "r"));
  let got: number;
  try {
    got = (await handle.read(head, 0, 128, 0)).bytesRead;
  } finally {
    await handle.close();
  }
  // gzip here can only be a compressed idx file; idx starts 00 00 08 <ndims>.
  if (isGzip(head) || (got >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 0x08 && head[3] >= 1 && head[3] <= 4)) {
    return { kind: "file", format: "idx", file: path };
  }
  const endian = String.fromCharCode(head[126], head[127]);
  if (got === 128 && (endian === "IM" || endian === "MI" || Buffer.from(head.subarray(0, 10)).toString("latin1") === "MATLAB 7.3")) {
    return { kind: "file", format: "mat", file: path };
  }
  if (info.size > 0 && info.size % cifarRecordSize("cifar10") === 0) return { kind: "file", format: "cifar10", file: path };
  if (info.size > 0 && info.size % cifarRecordSize("cifar100") === 0) return { kind: "file", format: "cifar100", file: path };
  throw new DataFormatError(path, `unrecognised contents (${info.size} bytes); expected ${what}`);
}

async function sniffFolder(root: string, what: string): Promise<SniffResult> {
  const has = (name: string): boolean => existsSync(join(root, name));
  if (has("train-images-idx3-ubyte.gz") || has("train-images-idx3-ubyte") || has("t10k-images-idx3-ubyte.gz") || has("t10k-images-idx3-ubyte")) {
    // idx files do not say which dataset they hold; the folder name usually does.
    return { kind: "dataset", dataset: /fashion/i.test(root) ? "fashion-mnist" : "mnist", root };
  }
  if (has("cifar-10-batches-bin") || has("data_batch_1.bin")) return { kind: "dataset", dataset: "cifar10", root };
  if (has("cifar-100-binary") || (has("train.bin") && has("fine_label_names.txt"))) return { kind: "dataset", dataset: "cifar100", root };
  if (has("train_32x32.mat") || has("test_32x32.mat")) return { kind: "dataset", dataset: "svhn", root };
  const entries = await readdir(root, { withFileTypes: true });
  if (entries.some((e) => e.isDirectory() && !e.name.startsWith("."))) return { kind: "dataset", dataset: "imagefolder", root };
  throw new DataFormatError(root, `holds no recognised dataset; expected ${what}`);
}

/**
 * Reads a single data file found by {@link sniffPath}. An idx images file is read with the labels
 * file beside it (`*-images-idx3-*` -> `*-labels-idx1-*`); CIFAR class names come from the names
 * file beside it when present, else the labels are named by number.
 */
export async function readDataFile(found: Extract<SniffResult, { kind: "file" }>): Promise<ImageSet> {
  const { file, format } = found;
  switch (format) {
    case "idx": {
      const name = basename(file);
      const images = name.includes("labels-idx1") ? join(dirname(file), name.replace("labels-idx1", "images-idx3")) : file;
      const labels = join(dirname(images), basename(images).replace("images-idx3", "labels-idx1"));
      if (labels === images) throw new DataFormatError(file, "cannot find the labels file of this idx file; expected a name like train-images-idx3-ubyte[.gz]");
      return readIdxImageSet(images, labels, /fashion/i.test(file) ? FASHION_MNIST_CLASSES : DIGIT_CLASSES);
    }
    case "cifar10":
    case "cifar100": {
      const count = format === "cifar10" ? 10 : 100;
      const namesFile = join(dirname(file), format === "cifar10" ? "batches.meta.txt" : "fine_label_names.txt");
      const classes = existsSync(namesFile) ? await readLabelNames(namesFile, count) : Array.from({ length: count }, (_, i) => String(i));
      return readCifarFiles([file], { variant: format, classes });
    }
    case "mat":
      return readSvhnMat(file);
  }
}
