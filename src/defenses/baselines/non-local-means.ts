/**
 * Non-local means denoising (Buades, Coll & Morel 2005) over NCHW tensors, the third squeezer of
 * Feature Squeezing (Xu et al. 2018), who call OpenCV's `fastNlMeansDenoisingColored` (grey images:
 * `fastNlMeansDenoising`) with a search window, a patch size and a filter strength h, named
 * "search-patch-h" (e.g. 11-3-4). Each pixel becomes the weighted mean of the pixels in the
 * search window around it, weighted by how alike their patches are:
 *
 *   w(p, q) = exp(−d²(p, q) / (h²·C)),  d² = mean over the patch of Σ_channels (P_p − P_q)²,
 *
 * on the 0–255 scale, with weights under 0.001 set to 0 and reflected borders (OpenCV's
 * BORDER_REFLECT_101). Colour images are denoised in CIELAB (OpenCV's linear-RGB-to-Lab on the
 * 8-bit scale), L with h and a·b jointly with the same h for colour (Xu et al. pass h twice), as
 * OpenCV does; inputs and outputs are rounded to 8 bits as Xu et al.'s wrapper does.
 * Differences from OpenCV: distances and weights are exact floats (OpenCV quantises the patch
 * distance into a lookup table and uses fixed-point weights), the Lab image is not rounded to
 * 8 bits, and colours are read as RGB (Xu et al. hand RGB images to a function expecting BGR).
 * Vectorised over the batch: one pass per offset of the search window.
 */
import { checkInteger, checkNumber } from "../../attacks/options.js";
import { cat, disposeAll, F, tensor, tidy, where, type Tensor } from "../../torch/index.js";

/** Settings of {@link nonLocalMeans}. */
export interface NonLocalMeansOptions {
  /** Side of the square search window (odd; Xu et al.: 11 or 13). */
  search: number;
  /** Side of the square patches compared (odd; Xu et al.: 3). */
  patch: number;
  /** Filter strength on the 0–255 scale (Xu et al.: 2 or 4). */
  h: number;
}

/** OpenCV's weight floor: smaller weights count as 0. */
const WEIGHT_THRESHOLD = 0.001;

/** Indices 0..n-1 extended by `pad` on each side, mirrored without repeating the edge (d c b | a b c d | c b a). */
function reflect101(n: number, pad: number): Tensor {
  const out = new BigInt64Array(n + 2 * pad);
  const period = 2 * (n - 1);
  for (let i = 0; i < out.length; i++) {
    if (n === 1) continue;
    const j = (((i - pad) % period) + period) % period;
    out[i] = BigInt(j < n ? j : period - j);
  }
  return tensor(out, [out.length]);
}

/** NLM of `g` [N, C, H, W] on the 0–255 scale, all C channels compared jointly. */
function denoiseGroup(g: Tensor, o: NonLocalMeansOptions): Tensor {
  const [, c, height, width] = g.shape;
  const s = (o.search - 1) / 2;
  const t = (o.patch - 1) / 2;
  return tidy(() => {
    const padded = g.indexSelect(2, reflect101(height, s + t).to(g.device)).indexSelect(3, reflect101(width, s + t).to(g.device));
    // The image with a patch-sized border, aligned with each shifted copy below.
    const centre = padded.narrow(2, s, height + 2 * t).narrow(3, s, width + 2 * t);
    const scale = -1 / (o.h * o.h * c);
    let num = g.mul(0);
    let den = g.narrow(1, 0, 1).mul(0);
    for (let dy = 0; dy <= 2 * s; dy++) {
      for (let dx = 0; dx <= 2 * s; dx++) {
        const next = tidy(() => {
          const shifted = padded.narrow(2, dy, height + 2 * t).narrow(3, dx, width + 2 * t);
          const d2 = F.avgPool2d(centre.sub(shifted).square().sum(1, true), o.patch, { stride: 1 });
          const w = d2.mul(scale).exp();
          const kept = where(w.ge(WEIGHT_THRESHOLD), w, 0);
          const value = padded.narrow(2, dy + t, height).narrow(3, dx + t, width);
          return { num: num.add(value.mul(kept)), den: den.add(kept) };
        });
        disposeAll([num, den]);
        ({ num, den } = next);
      }
    }
    // The centre pixel always weighs 1, so den >= 1.
    return num.div(den);
  });
}

// OpenCV's linear RGB <-> XYZ (D65) matrices and Lab constants.
const RGB_TO_XYZ = [[0.412453, 0.35758, 0.180423], [0.212671, 0.71516, 0.072169], [0.019334, 0.119193, 0.950227]];
const XYZ_TO_RGB = [[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556], [0.055648, -0.204043, 1.057311]];
const WHITE = [0.950456, 1, 1.088754];
const EPSILON = 0.008856;
const KAPPA = 903.3;

/** Rows of a 3×3 matrix applied to the channels of [N, 3, H, W]. */
function mix(x: Tensor, m: number[][]): Tensor {
  const ch = [0, 1, 2].map((k) => x.narrow(1, k, 1));
  return cat(m.map((row) => ch[0].mul(row[0]).add(ch[1].mul(row[1])).add(ch[2].mul(row[2]))), 1);
}

const labF = (v: Tensor) => where(v.gt(EPSILON), v.clamp(EPSILON).pow(1 / 3), v.mul(7.787).add(16 / 116));
const labFInverse = (f: Tensor) => where(f.gt(Math.cbrt(EPSILON)), f.pow(3), f.sub(16 / 116).div(7.787));

/** Linear RGB in [0, 1] to Lab on OpenCV's 8-bit scale (L·255/100, a + 128, b + 128). */
export function rgbToLab(x: Tensor): Tensor {
  return tidy(() => {
    const xyz = mix(x, RGB_TO_XYZ);
    const [fx, fy, fz] = [0, 1, 2].map((k) => labF(xyz.narrow(1, k, 1).div(WHITE[k])));
    const y = xyz.narrow(1, 1, 1);
    const l = where(y.gt(EPSILON), fy.mul(116).sub(16), y.mul(KAPPA));
    return cat([l.mul(255 / 100), fx.sub(fy).mul(500).add(128), fy.sub(fz).mul(200).add(128)], 1);
  });
}

/** Inverse of {@link rgbToLab}, clamped to [0, 1]. */
export function labToRgb(lab: Tensor): Tensor {
  return tidy(() => {
    const l = lab.narrow(1, 0, 1).mul(100 / 255);
    const a = lab.narrow(1, 1, 1).sub(128);
    const b = lab.narrow(1, 2, 1).sub(128);
    const y = where(l.le(KAPPA * EPSILON), l.div(KAPPA), l.add(16).div(116).pow(3));
    const fy = where(l.le(KAPPA * EPSILON), y.mul(7.787).add(16 / 116), l.add(16).div(116));
    const xyz = cat([labFInverse(fy.add(a.div(500))).mul(WHITE[0]), y, labFInverse(fy.sub(b.div(200))).mul(WHITE[2])], 1);
    return mix(xyz, XYZ_TO_RGB).clamp(0, 1);
  });
}

/**
 * Non-local means of NCHW images in [0, 1] (see the file comment). One-channel images are
 * denoised directly, three-channel images in Lab (L and a·b apart); other channel counts compare
 * all channels jointly. Returns a new tensor on the 8-bit grid.
 */
export function nonLocalMeans(x: Tensor, options: NonLocalMeansOptions): Tensor {
  const search = checkInteger("nlm search window", options.search, 1, 63);
  const patch = checkInteger("nlm patch size", options.patch, 1, 15);
  if (search % 2 === 0) throw new RangeError(`nlm search window: expected an odd integer, got ${search}`);
  if (patch % 2 === 0) throw new RangeError(`nlm patch size: expected an odd integer, got ${patch}`);
  const h = checkNumber("nlm h", options.h, 0, Infinity, false);
  const o = { search, patch, h };
  return tidy(() => {
    const bytes = x.clamp(0, 1).mul(255).round();
    if (x.size(1) !== 3) return denoiseGroup(bytes, o).round().div(255);
    const lab = rgbToLab(bytes.div(255));
    const denoised = cat([denoiseGroup(lab.narrow(1, 0, 1), o), denoiseGroup(lab.narrow(1, 1, 2), o)], 1);
    return labToRgb(denoised).mul(255).round().div(255);
  });
}
