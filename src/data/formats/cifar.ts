import { readFile, stat } from "node:fs/promises";
import { DataFormatError, withFileErrors } from "../errors.js";
import { allocPixels, type ImageSet } from "../types.js";

/**
 * The binary versions of CIFAR-10 and CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html).
 * A file is a sequence of fixed-size records: the label byte(s), then 3072 pixel bytes of a 32x32
 * colour image, already in CHW order (1024 red, 1024 green, 1024 blue, rows top to bottom).
 * CIFAR-10 records have 1 label byte; CIFAR-100 records have 2 (coarse, then fine).
 */

/** Which CIFAR binary layout a file has. */
export type CifarVariant = "cifar10" | "cifar100";
/** Which of CIFAR-100's two labels becomes the image label. */
export type Cifar100Label = "fine" | "coarse";

export const CIFAR_PIXELS = 3 * 32 * 32;

/** Bytes per record of a variant. */
export function cifarRecordSize(variant: CifarVariant): number {
  return (variant === "cifar10" ? 1 : 2) + CIFAR_PIXELS;
}

/** Options of {@link readCifarFiles}. */
export interface CifarReadOptions {
  variant: CifarVariant;
  /** Class names; their count bounds the labels. */
  classes: string[];
  /** For CIFAR-100: which label to keep (default "fine"). */
  label?: Cifar100Label;
}

/** Reads one or more CIFAR binary files, in order, into one image set of shape [N, 3, 32, 32]. */
export async function readCifarFiles(files: string[], options: CifarReadOptions): Promise<ImageSet> {
  const { variant, classes } = options;
  const record = cifarRecordSize(variant);
  const labelByte = variant === "cifar10" || (options.label ?? "fine") === "coarse" ? 0 : 1;
  const what = `a CIFAR-${variant === "cifar10" ? "10" : "100"} binary file of ${record}-byte records`;
  // Check every size before reading anything, so a bad last file fails fast.
  const counts: number[] = [];
  for (const file of files) {
    const { size } = await withFileErrors(file, what, () => stat(file));
    if (size === 0 || size % record !== 0) {
      throw new DataFormatError(
        file,
        `size ${size} bytes is not a positive multiple of the ${record}-byte record (${record - CIFAR_PIXELS} label byte(s) + ${CIFAR_PIXELS} pixels); the file is truncated or not ${what}`,
        { offset: size - (size % record) },
      );
    }
    counts.push(size / record);
  }
  const n = counts.reduce((a, b) => a + b, 0);
  const images = allocPixels(n * CIFAR_PIXELS);
  const labels = new Uint8Array(n);
  let base = 0;
  for (let f = 0; f < files.length; f++) {
    const file = files[f];
    const bytes = await withFileErrors(file, what, () => readFile(file));
    if (bytes.length !== counts[f] * record) {
      throw new DataFormatError(file, `changed size while being read: expected ${counts[f] * record} bytes, found ${bytes.length}`);
    }
    for (let r = 0; r < counts[f]; r++) {
      const at = r * record;
      const label = bytes[at + labelByte];
      if (label >= classes.length) {
        throw new DataFormatError(file, `label ${label} of record ${r} is out of range; expected 0..${classes.length - 1}`, { offset: at + labelByte });
      }
      if (variant === "cifar100" && bytes[at] >= 20) {
        throw new DataFormatError(file, `coarse label ${bytes[at]} of record ${r} is out of range; expected 0..19`, { offset: at });
      }
      labels[base + r] = label;
      images.set(bytes.subarray(at + record - CIFAR_PIXELS, at + record), (base + r) * CIFAR_PIXELS);
    }
    base += counts[f];
  }
  return { images, labels, shape: [n, 3, 32, 32], classes };
}

/**
 * Reads a class-names file (`batches.meta.txt`, `fine_label_names.txt`, `coarse_label_names.txt`):
 * one name per line; blank lines at the end are ignored. Exactly `expected` names must be present.
 */
export async function readLabelNames(file: string, expected: number): Promise<string[]> {
  const text = await withFileErrors(file, `a text file of ${expected} class names, one per line`, () => readFile(file, "utf8"));
  const names = text.split(/\r?\n/).map((s) => s.trim());
  while (names.length > 0 && names[names.length - 1] === "") names.pop();
  if (names.length !== expected || names.some((s) => s === "")) {
    throw new DataFormatError(file, `expected ${expected} non-empty class names, one per line, found ${names.length} lines`);
  }
  return names;
}
