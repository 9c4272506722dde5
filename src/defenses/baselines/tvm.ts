/**
 * Total variation minimisation (TVM) as an input purifier (Guo, Rana, Cissé & van der Maaten,
 * "Countering Adversarial Images using Input Transformations", ICLR 2018). As in their code
 * (`reconstruct` in lib/transformations/tvm.py), every value, per pixel and per channel, is
 * dropped independently with probability 1 − p (their `pixel_drop_rate` 0.5, through skimage's
 * salt-and-pepper noise over the H×W×C array), and the image is rebuilt from the kept values by
 * minimising ½‖m ⊙ (z − x)‖² + λ·TV(z) (see ./tv-inpaint.ts for the primal–dual solver; they use
 * Bregman iterations on the same objective). Their mask is read off the image after the dropped
 * values were set to 0, so a dropped value that was already 0 stays observed; `observeZeros`
 * (default on) does the same, which matters on images with black backgrounds (MNIST).
 * Defaults: p = 0.5, λ = 0.03 (Guo et al.'s TVM weight), 50 iterations.
 * The dropout mask is random, so the defense is stochastic: adaptive attacks average over draws
 * (EOT). The masks come from the defense's own `generator` when it is given one (the experiment
 * runner gives it one seeded from the run's seed), else from the global generator.
 */
import type { Classifier } from "../../models/classifier.js";
import { bernoulli, type Generator, type Tensor } from "../../torch/index.js";
import { checkBoolean, checkNumber } from "../../attacks/options.js";
import { PurifierDefense } from "./purifier-defense.js";
import { tvInpaint, type TvInpaintOptions } from "./tv-inpaint.js";

/** Options of {@link TvmDefense}. */
export interface TvmOptions extends TvInpaintOptions {
  /** Probability that a value (one pixel in one channel) is kept (default 0.5, Guo et al.'s drop rate 0.5); 1 keeps all and only denoises. */
  keepProbability?: number;
  /** A dropped value that is 0 stays observed, as in Guo et al.'s code (default true). */
  observeZeros?: boolean;
  /** Row name in result tables (default "tvm"). */
  name?: string;
  /**
   * The generator the masks are drawn from, on the inputs' device; default the global one. Its
   * stream moves on with every call, so the same calls in the same order give the same masks.
   */
  generator?: Generator;
}

/** Random pixel dropout + TV reconstruction as a purifying defense around `target`. */
export class TvmDefense extends PurifierDefense {
  readonly name: string;
  readonly stochastic = true;
  readonly keepProbability: number;
  readonly observeZeros: boolean;
  readonly solver: TvInpaintOptions;
  readonly generator: Generator | undefined;

  constructor(target: Classifier, options: TvmOptions = {}) {
    super(target);
    const { keepProbability, name, generator, observeZeros, ...solver } = options;
    this.observeZeros = checkBoolean("observeZeros", observeZeros ?? true);
    this.keepProbability = checkNumber("keepProbability", keepProbability ?? 0.5, 0, 1);
    if (this.keepProbability === 0) throw new RangeError("keepProbability: expected a number in (0, 1], got 0 (no pixel would be kept)");
    this.name = name ?? "tvm";
    this.solver = solver;
    this.generator = generator;
  }

  protected transform(x: Tensor): Tensor {
    const drawn = bernoulli(this.keepProbability, x.shape, { dtype: x.dtype, device: x.device, generator: this.generator });
    // Their threshold: |dropped value − original| < 1e-6, i.e. the original was (almost) 0.
    const mask = this.observeZeros ? drawn.maximum(x.lt(1e-6).to(x.dtype)) : drawn;
    return tvInpaint(x, mask, this.solver);
  }
}
