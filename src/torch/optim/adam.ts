import { zerosLike } from "../creation.js";
import { keep } from "../scope.js";
import type { Tensor } from "../tensor.js";
import { checkNumber, Optimizer } from "./optimizer.js";

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  /** L2 penalty added to the gradient (Adam), or decayed directly from the weights when `decoupled` (AdamW). */
  weightDecay?: number;
  decoupled?: boolean;
}

/** Adam (Kingma & Ba 2015) with bias correction, as PyTorch implements it; AdamW with `decoupled`. */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  readonly #m: (Tensor | null)[];
  readonly #v: (Tensor | null)[];

  constructor(params: readonly Tensor[], options: AdamOptions = {}) {
    super(params, options.lr ?? 1e-3);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    this.beta1 = checkNumber("betas[0]", b1, 0, 1);
    this.beta2 = checkNumber("betas[1]", b2, 0, 1);
    if (b1 >= 1 || b2 >= 1) throw new RangeError(`Adam: betas must be below 1, got [${b1}, ${b2}]`);
    this.eps = checkNumber("eps", options.eps ?? 1e-8, 0);
    this.weightDecay = checkNumber("weightDecay", options.weightDecay ?? 0, 0);
    this.decoupled = options.decoupled ?? false;
    this.#m = params.map(() => null);
    this.#v = params.map(() => null);
  }

  protected update(p: Tensor, grad: Tensor, i: number): void {
    let g = grad;
    if (this.weightDecay) {
      if (this.decoupled) p.mul_(1 - this.lr * this.weightDecay);
      else g = grad.add(p, this.weightDecay);
    }
    const m = (this.#m[i] ??= keep(zerosLike(p)));
    const v = (this.#v[i] ??= keep(zerosLike(p)));
    m.mul_(this.beta1).add_(g, 1 - this.beta1);
    v.mul_(this.beta2).addcmul_(g, g, 1 - this.beta2);
    const t = this.stepCount;
    const bias1 = 1 - this.beta1 ** t;
    const bias2 = 1 - this.beta2 ** t;
    const denom = v.sqrt().div_(Math.sqrt(bias2)).add_(this.eps);
    p.addcdiv_(m, denom, -this.lr / bias1);
  }

  protected slots(): Record<string, (Tensor | null)[]> {
    return { exp_avg: this.#m, exp_avg_sq: this.#v };
  }
}
