/**
 * NRP as a defense: the target classifies the purified input. Two inferences, as the authors'
 * `purify.py` offers them:
 * - "static": clamp(P(x), 0, 1). Deterministic and differentiable, so adaptive attacks take the
 *   exact gradient through the purifier.
 * - "dynamic": x + noise * N(0, I), projected back into the l_inf ball of radius eps around x and
 *   clamped to [0, 1], then purified as above. Random, so the defense is stochastic and adaptive
 *   attacks average gradients over draws (EOT); the gradient through noise and projection is exact.
 */
import type { Classifier } from "../../models/classifier.js";
import { noGrad, randn, tidy, type Generator, type nn, type Tensor } from "../../torch/index.js";
import { checkChoice, checkNumber } from "../../core/validate.js";
import { classifyByLogits, type Defense } from "../defense.js";
import { checkImages } from "../baselines/purifier-defense.js";

export const NRP_MODES = ["static", "dynamic"] as const;
export type NrpMode = (typeof NRP_MODES)[number];

export interface NrpDefenseOptions {
  /** "static" (default) or "dynamic" inference. */
  mode?: NrpMode;
  /** Std of the dynamic inference's noise (default 0.05, the authors'). */
  noise?: number;
  /** Radius the dynamic inference's noisy input is projected back into (default 16/255, the authors'). */
  eps?: number;
  /** Source of the dynamic noise, on the inputs' device (default: the global generator). */
  generator?: Generator;
  /** Row name in result tables (default "nrp", or "nrp-dynamic" in dynamic mode). */
  name?: string;
}

/** The target behind an NRP purifier. */
export class NrpDefense implements Defense {
  readonly name: string;
  readonly stochastic: boolean;
  readonly mode: NrpMode;
  readonly noise: number;
  readonly eps: number;
  readonly generator: Generator | undefined;

  constructor(readonly target: Classifier, readonly purifier: nn.Module, options: NrpDefenseOptions = {}) {
    this.mode = checkChoice("mode", options.mode ?? "static", NRP_MODES);
    this.noise = checkNumber("noise", options.noise ?? 0.05, 0);
    this.eps = checkNumber("eps", options.eps ?? 16 / 255, 0, 1);
    this.generator = options.generator;
    this.stochastic = this.mode === "dynamic";
    this.name = options.name ?? (this.mode === "dynamic" ? "nrp-dynamic" : "nrp");
    purifier.eval();
  }

  /** The input the purifier sees: x itself, or (dynamic) its noisy copy inside the eps-ball and [0, 1]. */
  purifierInput(x: Tensor): Tensor {
    if (this.mode === "static") return x;
    return tidy(() => {
      const noise = randn(x.shape, { dtype: x.dtype, device: x.device, generator: this.generator });
      const anchor = x.detach();
      return x.add(noise.mul(this.noise)).maximum(anchor.sub(this.eps)).minimum(anchor.add(this.eps)).clamp(0, 1);
    });
  }

  /** clamp(P(input), 0, 1), recording gradients when the caller does. */
  private purified(x: Tensor): Tensor {
    checkImages(x, `${this.name}: purify`);
    return tidy(() => this.purifier.forward(this.purifierInput(x)).clamp(0, 1));
  }

  /** The purified batch in [0, 1], without gradient. */
  purify(x: Tensor): Tensor {
    return noGrad(() => this.purified(x.detach()));
  }

  logits(x: Tensor): Tensor {
    return noGrad(() => tidy(() => this.target.forward(this.purified(x.detach()))));
  }

  classify(x: Tensor): Tensor {
    return classifyByLogits(this, x);
  }

  /** target(clamp(P(input(x)), 0, 1)) with the exact gradient through every step. */
  attackForward(x: Tensor): Tensor {
    return tidy(() => this.target.forward(this.purified(x)));
  }

  /** The same purifier and target in the other (or the same) mode. */
  withMode(mode: NrpMode, options: Omit<NrpDefenseOptions, "mode"> = {}): NrpDefense {
    return new NrpDefense(this.target, this.purifier, { noise: this.noise, eps: this.eps, generator: this.generator, ...options, mode });
  }
}
