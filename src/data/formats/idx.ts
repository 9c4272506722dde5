import { readFile } from "node:fs/promises";
import { DataFormatError, withFileErrors } from "../errors.js";
import { allocPixels, type ImageSet } from "../types.js";
import { maybeGunzip } from "./gzip.js";

/**
 * The idx format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
 * number 00 00 <type> <ndims>, then ndims big-endian uint32 dimensions, then the values in row-major
 * order. Only type 0x08 (unsigned byte) occurs in these datasets, so only it is read.
 */

/** An idx array: its dimensions and its unsigned-byte values in row-major order. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = { 0x08: "ubyte", 0x09: "byte", 0x0b: "short", 0x0c: "int", 0x0d: "float", 0x0e: "double" };

/** Parses an idx buffer (already inflated); `file` names it in errors. `data` is a view into `bytes`. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) {
    throw new DataFormatError(file, `truncated idx header: expected at least 4 bytes, found ${bytes.length}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(bytes[2] in TYPE_NAMES) || bytes[3] < 1 || bytes[3] > 4) {
    const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new DataFormatError(file, `not an idx file: magic number is ${hex}, expected 00 00 08 0<ndims>`, { offset: 0 });
  }
  if (bytes[2] !== UBYTE) {
    throw new DataFormatError(file, `idx element type ${TYPE_NAMES[bytes[2]]} is not supported; expected ubyte (0x08)`, { offset: 2 });
  }
  const ndims = bytes[3];
  const headerSize = 4 + 4 * ndims;
  if (bytes.length < headerSize) {
    throw new DataFormatError(file, `truncated idx header: expected ${headerSize} bytes for ${ndims} dimensions, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    dims.push(view.getUint32(4 + 4 * d, false));
    count *= dims[d];
  }
  const expected = headerSize + count;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "trailing bytes after the data";
    throw new DataFormatError(
      file,
      `${what}: dimensions ${dims.join("x")} need ${expected} bytes (after inflating), found ${bytes.length}`,
      { offset: Math.min(bytes.length, expected) },
    );
  }
  return { dims, data: bytes.subarray(headerSize) };
}

/** Reads an idx file, gzip-compressed or raw (told apart by the magic bytes 1f 8b). */
export async function readIdxFile(file: string): Promise<IdxArray> {
  const raw = await withFileErrors(file, "an idx file (e.g. train-images-idx3-ubyte[.gz])", () => readFile(file));
  return parseIdx(await maybeGunzip(raw, file), file);
}

/**
 * Reads an idx images file (N x H x W) and its idx labels file (N) into an image set of shape
 * [N, 1, H, W]. Every label must be below `classes.length`.
 */
export async function readIdxImageSet(imagesFile: string, labelsFile: string, classes: string[]): Promise<ImageSet> {
  const [images, labels] = await Promise.all([readIdxFile(imagesFile), readIdxFile(labelsFile)]);
  if (images.dims.length !== 3) {
    throw new DataFormatError(imagesFile, `expected a 3-dimensional idx array (images x rows x columns), found dimensions ${images.dims.join("x")}`, { offset: 3 });
  }
  if (labels.dims.length !== 1) {
    throw new DataFormatError(labelsFile, `expected a 1-dimensional idx array of labels, found dimensions ${labels.dims.join("x")}`, { offset: 3 });
  }
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DataFormatError(labelsFile, `holds ${labels.dims[0]} labels, expected ${n} (one per image of ${imagesFile})`, { offset: 4 });
  }
  const labelOffset = 8;
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= classes.length) {
      throw new DataFormatError(labelsFile, `label ${labels.data[i]} of image ${i} is out of range; expected 0..${classes.length - 1}`, { offset: labelOffset + i });
    }
  }
  const pixels = allocPixels(n * h * w);
  pixels.set(images.data);
  return { images: pixels, labels: Uint8Array.from(labels.data), shape: [n, 1, h, w], classes };
}
