import type { Rng } from "./random.js";

/**
 * Training-time augmentation, the standard one for small colour images (He et al. 2016 for
 * CIFAR): a random crop of the image zero-padded by `cropPadding` pixels on each side (i.e. a shift
 * by -p..p pixels in each direction, uncovered pixels set to 0), and a horizontal flip with
 * probability 1/2. Digits get neither (a flipped or shifted-out digit is another digit or none).
 */
export interface Augmentation {
  /** Pixels of zero padding before the random crop back to the original size (0: no crop). */
  cropPadding: number;
  /** Flip left-right with probability 1/2. */
  horizontalFlip: boolean;
}

/** No augmentation (evaluation, digits). */
export const NO_AUGMENTATION: Augmentation = Object.freeze({ cropPadding: 0, horizontalFlip: false });
/** CIFAR-10/100: 4-pixel padded random crop and horizontal flip. */
export const CIFAR_AUGMENTATION: Augmentation = Object.freeze({ cropPadding: 4, horizontalFlip: true });
/** SVHN: 4-pixel padded random crop, no flip (a mirrored digit is not the same digit). */
export const SVHN_AUGMENTATION: Augmentation = Object.freeze({ cropPadding: 4, horizontalFlip: false });

/** The standard training augmentation of a dataset by name. */
export function augmentationFor(dataset: string): Augmentation {
  if (dataset === "cifar10" || dataset === "cifar100") return CIFAR_AUGMENTATION;
  if (dataset === "svhn") return SVHN_AUGMENTATION;
  return NO_AUGMENTATION;
}

/** The random choices for one image. */
export interface ImageTransform {
  /** Shift of the crop window: output pixel (y, x) reads input (y + dy, x + dx). */
  dy: number;
  dx: number;
  flip: boolean;
}

/** Draws one image's transform; draws nothing for a disabled part, so streams stay comparable. */
export function drawTransform(aug: Augmentation, rng: Rng): ImageTransform {
  const p = aug.cropPadding;
  const dy = p > 0 ? rng.int(2 * p + 1) - p : 0;
  const dx = p > 0 ? rng.int(2 * p + 1) - p : 0;
  const flip = aug.horizontalFlip ? rng.nextU32() >= 0x80000000 : false;
  return { dy, dx, flip };
}

const INV255 = 1 / 255;

/**
 * Writes one uint8 CHW image (`c` x `h` x `w` at `src[srcOffset]`) to `out[outOffset]` as float32
 * in [0, 1], shifted and flipped by `t`. Flipping happens after the crop, as torchvision's
 * RandomCrop then RandomHorizontalFlip do.
 */
export function writeImage(
  src: Uint8Array, srcOffset: number, c: number, h: number, w: number, t: ImageTransform, out: Float32Array, outOffset: number,
): void {
  const { dy, dx, flip } = t;
  if (dy === 0 && dx === 0 && !flip) {
    const n = c * h * w;
    for (let i = 0; i < n; i++) out[outOffset + i] = src[srcOffset + i] * INV255;
    return;
  }
  // Output columns whose source column x + dx lies inside the image.
  const x0 = Math.max(0, -dx);
  const x1 = Math.min(w, w - dx);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const row = outOffset + (ch * h + y) * w;
      const sy = y + dy;
      if (sy < 0 || sy >= h || x0 >= x1) {
        out.fill(0, row, row + w);
        continue;
      }
      const srcRow = srcOffset + (ch * h + sy) * w + dx;
      // Unflipped column x of the crop lands at x, flipped at w - 1 - x.
      if (flip) {
        for (let x = 0; x < x0; x++) out[row + w - 1 - x] = 0;
        for (let x = x1; x < w; x++) out[row + w - 1 - x] = 0;
        for (let x = x0; x < x1; x++) out[row + w - 1 - x] = src[srcRow + x] * INV255;
      } else {
        for (let x = 0; x < x0; x++) out[row + x] = 0;
        for (let x = x1; x < w; x++) out[row + x] = 0;
        for (let x = x0; x < x1; x++) out[row + x] = src[srcRow + x] * INV255;
      }
    }
  }
}
