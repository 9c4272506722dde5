import { DataFormatError } from "../errors.js";
import { allocPixels, type ImageSet } from "../types.js";
import { readMat, type MatArrayInfo, type MatSink } from "./mat-v5.js";

/**
 * SVHN "cropped digits" files (http://ufldl.stanford.edu/housenumbers/: train_32x32.mat,
 * test_32x32.mat, extra_32x32.mat): level-5 MAT-files with X, a 32x32x3xN uint8 array (rows,
 * columns, channels, images; column-major), and y, an Nx1 array of labels 1..10 where 10 is the
 * digit 0. X is streamed from disk through zlib straight into the NCHW result, so the only large
 * allocation is the result itself.
 */

/** Class names of SVHN: the digits, label 0 being the digit 0. */
export const SVHN_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** Reads an SVHN cropped-digits .mat file into an image set of shape [N, 3, 32, 32]. */
export async function readSvhnMat(file: string): Promise<ImageSet> {
  let xInfo: MatArrayInfo | undefined;
  let images: Uint8Array | undefined;
  const arrays = await readMat(file, (info) => {
    if (info.name === "y") return "read";
    if (info.name !== "X") return "skip";
    const [h, w, c, n] = info.dims;
    if (info.dims.length !== 4 || info.className !== "uint8" || info.storage !== "uint8" || (c !== 1 && c !== 3)) {
      throw new DataFormatError(
        file,
        `variable X is a ${info.dims.join("x")} ${info.className} array stored as ${info.storage}, expected HxWx3xN uint8 (e.g. 32x32x3xN)`,
        { offset: info.fileOffset },
      );
    }
    xInfo = info;
    images = allocPixels(h * w * c * n);
    return transposeSink(images, h, w);
  });
  const y = arrays.get("y");
  if (!xInfo || !images) throw new DataFormatError(file, "has no variable X; expected X (32x32x3xN uint8 images) and y (Nx1 labels)");
  if (!y) throw new DataFormatError(file, "has no variable y; expected X (32x32x3xN uint8 images) and y (Nx1 labels)");
  const [h, w, c, n] = xInfo.dims;
  if (y.data.length !== n || Math.min(...y.dims) !== 1) {
    throw new DataFormatError(file, `y is ${y.dims.join("x")}, expected ${n}x1 (one label per image of X)`, { offset: y.fileOffset });
  }
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(y.data[i]);
    if (!(Number.isInteger(v) && v >= 1 && v <= 10)) {
      throw new DataFormatError(file, `label y(${i + 1}) = ${v} is out of range; expected an integer 1..10 (10 is the digit 0)`, { offset: y.fileOffset });
    }
    labels[i] = v === 10 ? 0 : v;
  }
  return { images, labels, shape: [n, c, h, w], classes: SVHN_CLASSES };
}

/**
 * A sink that writes column-major H x W x C x N bytes into NCHW order. In column-major order each
 * column of one channel plane arrives as a run of H bytes, so it is scattered with stride W.
 */
function transposeSink(out: Uint8Array, h: number, w: number): MatSink {
  let row = 0;
  let col = 0;
  let plane = 0; // offset of the current (image, channel) plane in `out`
  let expected = 0;
  return (piece, offset) => {
    if (offset !== expected) throw new Error(`internal: MAT data arrived out of order (${offset} != ${expected})`);
    expected += piece.length;
    let p = 0;
    const len = piece.length;
    while (p < len) {
      const run = Math.min(h - row, len - p);
      let o = plane + row * w + col;
      for (let r = 0; r < run; r++, o += w) out[o] = piece[p + r];
      p += run;
      row += run;
      if (row === h) {
        row = 0;
        if (++col === w) {
          col = 0;
          plane += h * w;
        }
      }
    }
  };
}
