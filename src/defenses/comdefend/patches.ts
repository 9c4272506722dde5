/**
 * The authors' ImageNet path purifies a 224x224 image as 49 separate 32x32 tiles (processer.py's
 * Divided_Pach and mergeimage). These two functions cut a batch into such tiles and put them back;
 * both are reshapes, so gradients flow through them.
 */
import { F, type Tensor } from "../../torch/index.js";

/** A batch cut into tiles, with what is needed to reassemble it. */
export interface Tiled {
  /** [N * rows * cols, C, p, p] */
  tiles: Tensor;
  /** Reassembles processed tiles (same layout, any channel count) into [N, C', H, W]. */
  merge(processed: Tensor): Tensor;
}

/**
 * Cuts [N, C, H, W] into p x p tiles, row by row; sides that are not a multiple of p are padded
 * with zeros at the bottom and right, and the padding is cropped off again by `merge`.
 */
export function toTiles(x: Tensor, p: number): Tiled {
  if (!Number.isInteger(p) || p < 1) throw new TypeError(`patch: expected a positive integer, got ${p}`);
  const [n, c, h, w] = x.shape;
  const rows = Math.ceil(h / p);
  const cols = Math.ceil(w / p);
  const padded = rows * p === h && cols * p === w ? x : F.pad(x, [0, cols * p - w, 0, rows * p - h]);
  const tiles = padded.reshape([n, c, rows, p, cols, p]).permute([0, 2, 4, 1, 3, 5]).reshape([n * rows * cols, c, p, p]);
  if (padded !== x) padded.dispose();
  return {
    tiles,
    merge(processed: Tensor): Tensor {
      const k = processed.size(1);
      const whole = processed.reshape([n, rows, cols, k, p, p]).permute([0, 3, 1, 4, 2, 5]).reshape([n, k, rows * p, cols * p]);
      if (rows * p === h && cols * p === w) return whole;
      const cropped = whole.narrow(2, 0, h).narrow(3, 0, w).contiguous();
      whole.dispose();
      return cropped;
    },
  };
}
