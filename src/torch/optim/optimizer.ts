/**
 * Optimizers, in TypeScript over in-place ops, sorted in order of increasing complexity across
 * sgd.ts and adam.ts. Each `step()` runs without gradient recording inside its own scope.
 */
import { noGrad } from "../autograd.js";
import { tidy } from "../scope.js";
import type { Tensor } from "../tensor.js";

export function checkNumber(name: string, value: number, min: number, max = Infinity, minInclusive = true): number {
  const ok = typeof value === "number" && Number.isFinite(value) && (minInclusive ? value >= min : value > min) && value <= max;
  if (!ok) throw new RangeError(`${name}: expected a number in ${minInclusive ? "[" : "("}${min}, ${max}], got ${value}`);
  return value;
}

export abstract class Optimizer {
  /** The learning rate used by the next step; schedulers set it. */
  lr: number;
  readonly params: readonly Tensor[];
  /** Steps taken so far. */
  stepCount = 0;

  constructor(params: readonly Tensor[], lr: number) {
    if (params.length === 0) throw new RangeError("optimizer: got an empty parameter list");
    for (const p of params) if (!p.requiresGrad) throw new TypeError("optimizer: every parameter must require grad");
    this.params = params;
    this.lr = checkNumber("lr", lr, 0);
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    this.stepCount += 1;
    noGrad(() => tidy(() => {
      this.params.forEach((p, i) => {
        const g = p.grad;
        if (g !== null) this.update(p, g, i);
      });
    }));
  }

  /** Clears the gradients of all parameters. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  protected abstract update(param: Tensor, grad: Tensor, index: number): void;

  /** Frees optimizer state tensors. */
  dispose(): void {}
}
