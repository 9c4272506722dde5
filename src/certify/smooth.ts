/**
 * Randomized smoothing (Cohen, Rosenfeld & Kolter, ICML 2019): the smoothed classifier
 * g(x) = argmax_c P(f(x + δ) = c), δ ~ N(0, σ²I), over any base classifier f — an undefended
 * target, a target trained under Gaussian noise, or a denoiser in front of a target (denoised
 * smoothing, Salman et al., NeurIPS 2020: f = target ∘ ID, or IDFR's whole pipeline).
 *
 * PREDICT and CERTIFY follow the paper's pseudocode: CERTIFY picks the top class ĉA from n0
 * selection samples, counts it in n fresh estimation samples, and certifies the L2 radius
 * σ Φ⁻¹(p̲A) when the one-sided Clopper–Pearson bound p̲A at level α exceeds 1/2 (else abstains);
 * PREDICT abstains unless a two-sided binomial test separates the top two counts at level α.
 * The noise is not clipped to the image box: the certificate is about the Gaussian itself.
 * Each image draws its noise from generators of its own, seeded from (seed, image id, phase, block),
 * so results do not depend on the batch size, the device or on which images run before it.
 */
import { deriveSeed } from "../core/seeds.js";
import { logitsOf, type LogitsModel } from "../models/classifier.js";
import { cat, Generator, noGrad, randn, tidy, type Tensor } from "../torch/index.js";
import { binomialTwoSidedPValue, clopperPearsonLower, normalInverseCdf } from "./stats.js";

/** Predicted classes (int64 [N]) of a batch: what smoothing counts. */
export type BaseClassifier = (x: Tensor) => Tensor;

/** A base classifier from a logits model (a classifier, a defense's `logits`, a function). */
export function argmaxClassifier(model: LogitsModel): BaseClassifier {
  return (x) => tidy(() => logitsOf(model, x).argmax(1));
}

/** The abstain answer of PREDICT and CERTIFY. */
export const ABSTAIN = -1;

/** The outcome of CERTIFY for one image. */
export interface Certificate {
  /** The predicted class, or {@link ABSTAIN}. */
  prediction: number;
  /** Certified L2 radius σ Φ⁻¹(p̲A) (0 when abstaining). */
  radius: number;
  /** The class chosen from the selection samples, its count among the estimation samples, and p̲A. */
  selected: number;
  countA: number;
  pALower: number;
}

/** The outcome of PREDICT for one image. */
export interface Prediction {
  prediction: number;
  /** Counts of the top two classes and the binomial test's p-value. */
  countA: number;
  countB: number;
  pValue: number;
}

export interface SmoothingOptions {
  /** Noise level σ on the [0, 1] pixel scale. */
  sigma: number;
  numClasses: number;
  /** Noisy copies per forward pass (default 200; rounded to whole blocks of 100). Results do not depend on it. */
  batchSize?: number;
  /** Seed of the noise (default 0). */
  seed?: number;
}

/** Noisy copies drawn per generator (drawn on the CPU, so every device sees the same noise). */
const NOISE_BLOCK = 100;

/** Phases of an image's noise: each gets its own stream. */
const SELECTION = 0;
const ESTIMATION = 1;
const PREDICTION = 2;

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name}: expected a positive integer, got ${v}`);
  return v;
}

export class SmoothedClassifier {
  readonly sigma: number;
  readonly numClasses: number;
  readonly batchSize: number;
  readonly seed: number;

  constructor(readonly base: BaseClassifier, o: SmoothingOptions) {
    if (!(o.sigma > 0) || !Number.isFinite(o.sigma)) throw new RangeError(`sigma: expected a positive noise level, got ${o.sigma}`);
    this.sigma = o.sigma;
    this.numClasses = positiveInt("numClasses", o.numClasses);
    this.batchSize = positiveInt("batchSize", o.batchSize ?? 200);
    this.seed = o.seed ?? 0;
    if (!Number.isInteger(this.seed) || this.seed < 0) throw new RangeError(`seed: expected a non-negative integer, got ${this.seed}`);
  }

  /**
   * How often the base classifier gives each class on `num` noisy copies of the single image `x`
   * ([1, C, H, W] or [C, H, W]), drawn from the stream (image id, phase).
   */
  counts(x: Tensor, num: number, imageId: number, phase: number): Int32Array {
    positiveInt("num", num);
    const image = x.shape.length === 3 ? x.unsqueeze(0) : x;
    try {
      if (image.shape.length !== 4 || image.shape[0] !== 1) throw new RangeError(`x: expected one image [1, C, H, W] or [C, H, W], got [${x.shape.join(", ")}]`);
      const counts = new Int32Array(this.numClasses);
      const rowShape = image.shape.slice(1);
      // Noise comes in blocks of NOISE_BLOCK copies, each from a generator of its own: libtorch's
      // randn fills vectorised chunks, so one stream cut into other batch sizes would differ.
      const blocksPerBatch = Math.max(1, Math.round(this.batchSize / NOISE_BLOCK));
      const blocks = Math.ceil(num / NOISE_BLOCK);
      for (let first = 0; first < blocks; first += blocksPerBatch) {
        const last = Math.min(blocks, first + blocksPerBatch);
        const b = Math.min(num, last * NOISE_BLOCK) - first * NOISE_BLOCK;
        const classes = tidy(() => noGrad(() => {
          const noise: Tensor[] = [];
          for (let k = first; k < last; k++) {
            const generator = new Generator(deriveSeed(this.seed, imageId, phase, k));
            try {
              const rows = Math.min(NOISE_BLOCK, num - k * NOISE_BLOCK);
              const block = randn([NOISE_BLOCK, ...rowShape], { generator });
              noise.push(rows === NOISE_BLOCK ? block : block.narrow(0, 0, rows));
            } finally {
              generator.dispose();
            }
          }
          const delta = cat(noise, 0).to(image.device);
          const noisy = image.expand([b, ...rowShape]).add(delta.mul(this.sigma));
          return this.base(noisy).toArray();
        }));
        if (classes.length !== b) throw new Error(`the base classifier returned ${classes.length} predictions for ${b} inputs`);
        for (const c of classes) {
          if (!Number.isInteger(c) || c < 0 || c >= this.numClasses) throw new RangeError(`the base classifier predicted class ${c}, outside [0, ${this.numClasses})`);
          counts[c] += 1;
        }
      }
      return counts;
    } finally {
      if (image !== x) image.dispose();
    }
  }

  /** CERTIFY(f, σ, x, n0, n, α) of Cohen et al. for one image. */
  certify(x: Tensor, o: { n0: number; n: number; alpha: number; imageId?: number }): Certificate {
    const id = o.imageId ?? 0;
    const selection = this.counts(x, o.n0, id, SELECTION);
    const selected = argmaxCount(selection);
    const estimation = this.counts(x, o.n, id, ESTIMATION);
    return certificateFrom(selected, estimation[selected], o.n, o.alpha, this.sigma);
  }

  /** PREDICT(f, σ, x, n, α) of Cohen et al. for one image: abstains with probability of error at most α. */
  predict(x: Tensor, o: { n: number; alpha: number; imageId?: number }): Prediction {
    const counts = this.counts(x, o.n, o.imageId ?? 0, PREDICTION);
    const [a, b] = topTwo(counts);
    const pValue = binomialTwoSidedPValue(counts[a], counts[a] + counts[b]);
    return { prediction: pValue <= o.alpha ? a : ABSTAIN, countA: counts[a], countB: counts[b], pValue };
  }
}

/**
 * The certificate of CERTIFY once the counts are in: the class chosen on selection samples, its
 * count among `n` estimation samples, α and σ.
 */
export function certificateFrom(selected: number, countA: number, n: number, alpha: number, sigma: number): Certificate {
  const pALower = clopperPearsonLower(countA, n, alpha);
  if (pALower < 0.5) return { prediction: ABSTAIN, radius: 0, selected, countA, pALower };
  return { prediction: selected, radius: sigma * normalInverseCdf(pALower), selected, countA, pALower };
}

/** The class with the highest count (the lowest index among ties, as numpy's argmax). */
export function argmaxCount(counts: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < counts.length; c++) if (counts[c] > counts[best]) best = c;
  return best;
}

/** The classes with the highest and second-highest counts (ties to the lower index). */
export function topTwo(counts: ArrayLike<number>): [number, number] {
  const a = argmaxCount(counts);
  let b = a === 0 ? 1 : 0;
  for (let c = 0; c < counts.length; c++) if (c !== a && counts[c] > counts[b]) b = c;
  return [a, b];
}
