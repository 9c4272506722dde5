/**
 * The two squeezers of Feature Squeezing (Xu et al., NDSS 2018) as tensor functions: colour
 * bit-depth reduction and median smoothing. Both work on NCHW batches in [0, 1], channel by channel.
 */
import { tensor, tidy, type Tensor } from "../../torch/index.js";
import { checkInteger } from "../../attacks/options.js";

/**
 * Reduces each value to `bits` bits: round(x·(2^bits − 1)) / (2^bits − 1), with rounding half to
 * even (numpy's `rint`, which the authors' code uses). The result lies on the grid k/(2^bits − 1).
 */
export function reduceBitDepth(x: Tensor, bits: number): Tensor {
  checkInteger("bits", bits, 1, 16);
  const levels = 2 ** bits - 1;
  return tidy(() => x.clamp(0, 1).mul(levels).round().div(levels));
}

/**
 * Indices 0..n-1 extended by `before` and `after` entries that mirror the edge including the edge
 * sample (… b a | a b c … c b a | …), scipy.ndimage's "reflect" mode, which the authors' code and
 * ART's SpatialSmoothing use.
 */
function reflectIndices(n: number, before: number, after: number): Tensor {
  const period = 2 * n;
  const out = new BigInt64Array(n + before + after);
  for (let i = 0; i < out.length; i++) {
    const j = (((i - before) % period) + period) % period;
    out[i] = BigInt(j < n ? j : period - 1 - j);
  }
  return tensor(out, [out.length]);
}

/**
 * k×k median filter per channel, scipy.ndimage.median_filter semantics (Xu et al.'s and ART's
 * implementation): the window around pixel i spans i − ⌊k/2⌋ … i + k − 1 − ⌊k/2⌋, so an even 2×2
 * window covers the pixel and its upper and left neighbours; borders reflect; of an even number of
 * values the upper middle one (rank ⌊k²/2⌋ in ascending order) is taken, not their mean.
 */
export function medianFilter(x: Tensor, k: number): Tensor {
  checkInteger("median window", k, 1, 15);
  if (k === 1) return x.clone();
  const [n, c, h, w] = x.shape;
  const before = Math.floor(k / 2);
  const after = k - 1 - before;
  return tidy(() => {
    const rows = reflectIndices(h, before, after).to(x.device);
    const cols = reflectIndices(w, before, after).to(x.device);
    const padded = x.indexSelect(2, rows).indexSelect(3, cols);
    // [N, C, H, W, k, k]: every k×k window, then its values sorted to pick the median rank.
    const windows = padded.unfold(2, k, 1).unfold(3, k, 1);
    const flat = windows.reshape([n, c, h, w, k * k]);
    return flat.sort(-1).values.select(-1, Math.floor((k * k) / 2)).contiguous();
  });
}
