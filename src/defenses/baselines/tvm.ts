/**
 * Total variation minimisation (TVM) as an input purifier (Guo, Rana, Cissé & van der Maaten,
 * "Countering Adversarial Images using Input Transformations", ICLR 2018). Each pixel is kept with
 * probability p (one Bernoulli draw per pixel, shared by its channels), and the image is rebuilt
 * from the kept pixels by minimising ½‖m ⊙ (z − x)‖² + λ·TV(z) (see ./tv-inpaint.ts for the
 * primal–dual solver). Defaults: p = 0.5, λ = 0.03 (Guo et al.'s TVM weight), 50 iterations.
 * The dropout mask is random, so the defense is stochastic: adaptive attacks average over draws
 * (EOT). The masks come from the global generator (seed it with `manualSeed` for repeatable
 * results) unless the defense is given its own `generator`, whose stream nothing else touches.
 */
import type { Classifier } from "../../models/classifier.js";
import { bernoulli, type Generator, type Tensor } from "../../torch/index.js";
import { checkNumber } from "../../attacks/options.js";
import { PurifierDefense } from "./purifier-defense.js";
import { tvInpaint, type TvInpaintOptions } from "./tv-inpaint.js";

/** Options of {@link TvmDefense}. */
export interface TvmOptions extends TvInpaintOptions {
  /** Probability that a pixel is kept (default 0.5); 1 keeps all and only denoises. */
  keepProbability?: number;
  /** Row name in result tables (default "tvm"). */
  name?: string;
  /**
   * The generator the masks are drawn from, on the inputs' device; default the global one. The
   * default stays global because evaluations reproduce today's numbers only with the global
   * stream (EOT attacks draw masks from where their seeded random start left it).
   */
  generator?: Generator;
}

/** Random pixel dropout + TV reconstruction as a purifying defense around `target`. */
export class TvmDefense extends PurifierDefense {
  readonly name: string;
  readonly stochastic = true;
  readonly keepProbability: number;
  readonly solver: TvInpaintOptions;
  readonly generator: Generator | undefined;

  constructor(target: Classifier, options: TvmOptions = {}) {
    super(target);
    const { keepProbability, name, generator, ...solver } = options;
    this.keepProbability = checkNumber("keepProbability", keepProbability ?? 0.5, 0, 1);
    if (this.keepProbability === 0) throw new RangeError("keepProbability: expected a number in (0, 1], got 0 (no pixel would be kept)");
    this.name = name ?? "tvm";
    this.solver = solver;
    this.generator = generator;
  }

  protected transform(x: Tensor): Tensor {
    const [n, , h, w] = x.shape;
    const mask = bernoulli(this.keepProbability, [n, 1, h, w], { dtype: x.dtype, device: x.device, generator: this.generator });
    return tvInpaint(x, mask, this.solver);
  }
}
