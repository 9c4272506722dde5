import { keep } from "../scope.js";
import type { Tensor } from "../tensor.js";
import { checkNumber, Optimizer } from "./optimizer.js";

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** Stochastic gradient descent with momentum, Nesterov and L2 weight decay (PyTorch's update rule). */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly #buffers: (Tensor | null)[];

  constructor(params: readonly Tensor[], options: SGDOptions) {
    super(params, options.lr);
    this.momentum = checkNumber("momentum", options.momentum ?? 0, 0);
    this.dampening = checkNumber("dampening", options.dampening ?? 0, 0, 1);
    this.weightDecay = checkNumber("weightDecay", options.weightDecay ?? 0, 0);
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum === 0 || this.dampening !== 0)) throw new RangeError("SGD: nesterov needs momentum > 0 and dampening 0");
    this.#buffers = params.map(() => null);
  }

  protected update(p: Tensor, grad: Tensor, i: number): void {
    let d = this.weightDecay ? grad.add(p, this.weightDecay) : grad;
    if (this.momentum) {
      let buf = this.#buffers[i];
      if (buf === null) buf = this.#buffers[i] = keep(d.clone());
      else buf.mul_(this.momentum).add_(d, 1 - this.dampening);
      d = this.nesterov ? d.add(buf, this.momentum) : buf;
    }
    p.add_(d, -this.lr);
  }

  protected slots(): Record<string, (Tensor | null)[]> {
    return { momentum_buffer: this.#buffers };
  }
}
