/**
 * Optimizers, in TypeScript over in-place ops, sorted in order of increasing complexity across
 * sgd.ts and adam.ts. Each `step()` runs without gradient recording inside its own scope.
 */
import { checkNumber } from "../../core/validate.js";
import { noGrad } from "../autograd.js";
import { keep, tidy } from "../scope.js";
import type { Tensor } from "../tensor.js";

/** The optimizers' option check is the project's one (core/validate.ts). */
export { checkNumber };

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

  /** Per-parameter state slots, by name (e.g. Adam's "exp_avg"), one entry per parameter. */
  protected abstract slots(): Record<string, (Tensor | null)[]>;

  /** The state to checkpoint: tensors keyed "<slot>.<param index>" (the step count is `stepCount`). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, list] of Object.entries(this.slots())) {
      list.forEach((t, i) => {
        if (t) out.set(`${name}.${i}`, t);
      });
    }
    return out;
  }

  /** Restores state written by stateDict (copied into fresh tensors owned by the optimizer). */
  loadStateDict(state: Map<string, Tensor>, stepCount: number): void {
    const slots = this.slots();
    for (const [key, t] of state) {
      const dot = key.lastIndexOf(".");
      const list = slots[key.slice(0, dot)];
      const i = Number(key.slice(dot + 1));
      if (!list || !Number.isInteger(i) || i < 0 || i >= list.length) throw new Error(`optimizer state: unexpected key ${key}`);
      const p = this.params[i];
      if (t.shape.join(",") !== p.shape.join(",")) throw new Error(`optimizer state: ${key} has shape [${t.shape}], parameter ${i} has [${p.shape}]`);
      list[i]?.dispose();
      list[i] = keep(noGrad(() => t.to(p.dtype).clone()));
    }
    this.stepCount = stepCount;
  }

  /** Frees optimizer state tensors. */
  dispose(): void {
    for (const list of Object.values(this.slots())) {
      list.forEach((t, i) => {
        t?.dispose();
        list[i] = null;
      });
    }
  }
}
