/** Class labels of an image set: one byte per image when there are at most 256 classes. */
export type Labels = Uint8Array | Int32Array;

/** Shape of a batch of images, NCHW. */
export type Shape4 = [n: number, c: number, h: number, w: number];

/**
 * A set of images held as uint8 pixels in NCHW order, with one label per image.
 *
 * `images.length === n * c * h * w` and `labels.length === n`; every label is below `classes.length`.
 * Readers allocate `images` on a SharedArrayBuffer so that loader workers read it without a copy.
 */
export interface ImageSet {
  images: Uint8Array;
  labels: Labels;
  shape: Shape4;
  classes: string[];
}

/** A zeroed Uint8Array of `length` bytes on a SharedArrayBuffer (readable by worker threads without copying). */
export function allocPixels(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

/** A zeroed label array wide enough for `numClasses` classes. */
export function allocLabels(length: number, numClasses: number): Labels {
  return numClasses <= 256 ? new Uint8Array(length) : new Int32Array(length);
}

/** Pixels per image (C*H*W) of a shape. */
export function imageSize(shape: Shape4): number {
  return shape[1] * shape[2] * shape[3];
}

/** A new image set holding the images at `indices` of `set`, in that order (pixels and labels copied). */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = imageSize(set.shape);
  const n = indices.length;
  const images = allocPixels(n * size);
  const labels = allocLabels(n, set.classes.length);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    if (!(i >= 0 && i < set.shape[0]) || !Number.isInteger(i)) {
      throw new RangeError(`subset: index ${i} is outside [0, ${set.shape[0]})`);
    }
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = set.labels[i];
  }
  return { images, labels, shape: [n, set.shape[1], set.shape[2], set.shape[3]], classes: set.classes };
}

/** Number of images of each class in `labels`. */
export function classCounts(labels: Labels, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}
