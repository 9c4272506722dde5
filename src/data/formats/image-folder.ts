import { readdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { extname, join } from "node:path";
import sharp from "sharp";
import { DataFormatError, withFileErrors } from "../errors.js";
import { allocLabels, allocPixels, type ImageSet } from "../types.js";

/**
 * ImageNet-style folders: `root/<class>/<image>`, one sub-folder per class (classes sorted by
 * name, as torchvision's ImageFolder does, so label numbers agree with it), images with the
 * extensions .jpeg, .jpg or .png in any case. Images are decoded with sharp (libvips, off the
 * main thread), resized so that the shorter side is `shorterSide`, centre-cropped to
 * `size` x `size`, converted to sRGB and stored as uint8 NCHW.
 */

const IMAGE_EXTENSIONS = new Set([".jpeg", ".jpg", ".png"]);

/** The files of an image folder, before decoding. */
export interface ImageFolderIndex {
  root: string;
  classes: string[];
  /** Image paths, class by class, each class's files sorted by name. */
  files: string[];
  /** The class of each file. */
  labels: Int32Array;
}

/** Options of {@link readImageFolder}. */
export interface ImageFolderOptions {
  /** Side of the square output (default 224; 299 for InceptionV3). */
  size?: number;
  /** Shorter side after resizing, before the centre crop (default `size`; torchvision's ImageNet evaluation uses 256 for 224). */
  shorterSide?: number;
  /** Only these entries of the index, in this order (default all). */
  indices?: ArrayLike<number>;
  /** Images decoded at once (default 2 x the number of cores). */
  concurrency?: number;
}

/** Lists the classes and image files of an image folder; throws on an empty folder or class. */
export async function scanImageFolder(root: string): Promise<ImageFolderIndex> {
  const what = "a folder with one sub-folder of images per class";
  const entries = await withFileErrors(root, what, () => readdir(root, { withFileTypes: true }));
  const classes = entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name).sort(byCodePoint);
  if (classes.length === 0) throw new DataFormatError(root, `has no class sub-folders; expected ${what}`);
  const files: string[] = [];
  const labels: number[] = [];
  for (let k = 0; k < classes.length; k++) {
    const dir = join(root, classes[k]);
    const names = (await withFileErrors(dir, "a folder of images", () => readdir(dir, { withFileTypes: true })))
      .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort(byCodePoint);
    if (names.length === 0) throw new DataFormatError(dir, "class folder is empty; expected at least one .jpeg, .jpg or .png image");
    for (const name of names) {
      files.push(join(dir, name));
      labels.push(k);
    }
  }
  return { root, classes, files, labels: Int32Array.from(labels) };
}

/** Reads (a selection of) an image folder into an image set of shape [N, 3, size, size]. */
export async function readImageFolder(rootOrIndex: string | ImageFolderIndex, options: ImageFolderOptions = {}): Promise<ImageSet> {
  const index = typeof rootOrIndex === "string" ? await scanImageFolder(rootOrIndex) : rootOrIndex;
  const size = options.size ?? 224;
  const shorterSide = options.shorterSide ?? size;
  if (!Number.isInteger(size) || size < 1) throw new TypeError(`size: expected a positive integer, got ${size}`);
  if (!Number.isInteger(shorterSide) || shorterSide < size) {
    throw new TypeError(`shorterSide: expected an integer >= size (${size}), got ${shorterSide}`);
  }
  const selected = options.indices ? Array.from(options.indices) : index.files.map((_, i) => i);
  const concurrency = options.concurrency ?? 2 * availableParallelism();
  const n = selected.length;
  const plane = size * size;
  const images = allocPixels(n * 3 * plane);
  const labels = allocLabels(n, index.classes.length);
  let next = 0;
  let failed = false; // after the first error the other workers stop taking images
  const work = async (): Promise<void> => {
    while (next < n && !failed) {
      const k = next++;
      const file = index.files[selected[k]];
      if (file === undefined) {
        failed = true;
        throw new RangeError(`indices: ${selected[k]} is outside [0, ${index.files.length})`);
      }
      let hwc: Uint8Array;
      try {
        hwc = await decodeCentreCrop(file, size, shorterSide);
      } catch (err) {
        failed = true;
        throw err;
      }
      const out = k * 3 * plane;
      for (let p = 0; p < plane; p++) {
        images[out + p] = hwc[3 * p];
        images[out + plane + p] = hwc[3 * p + 1];
        images[out + 2 * plane + p] = hwc[3 * p + 2];
      }
      labels[k] = index.labels[selected[k]];
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, work));
  return { images, labels, shape: [n, 3, size, size], classes: index.classes };
}

/** Decodes one image, resizes its shorter side to `shorterSide`, crops the centre `size` square; HWC sRGB bytes. */
export async function decodeCentreCrop(file: string, size: number, shorterSide: number): Promise<Uint8Array> {
  try {
    // rotate() applies the EXIF orientation first, so width/height below are the displayed ones.
    const meta = await sharp(file).rotate().metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    const w0 = swap ? meta.height : meta.width;
    const h0 = swap ? meta.width : meta.height;
    if (!w0 || !h0) throw new Error("image has no dimensions");
    const scale = shorterSide / Math.min(w0, h0);
    const w = Math.max(shorterSide, Math.round(w0 * scale));
    const h = Math.max(shorterSide, Math.round(h0 * scale));
    const { data, info } = await sharp(file)
      .rotate()
      .resize(w, h, { fit: "fill" })
      .extract({ left: Math.floor((w - size) / 2), top: Math.floor((h - size) / 2), width: size, height: size })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== 3 * size * size) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
    }
    return data;
  } catch (err) {
    throw new DataFormatError(file, `cannot decode image (${(err as Error).message}); expected a readable JPEG or PNG`, { cause: err });
  }
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
