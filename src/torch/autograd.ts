/** Autograd helpers: grad-mode scopes and gradients of scalar functions. */
import { native } from "./native.js";
import { tidy } from "./scope.js";
import { Tensor } from "./tensor.js";

/** Runs fn with gradient recording off (PyTorch's `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/**
 * Runs fn in libtorch's inference mode (PyTorch's `torch.inference_mode()`): like noGrad, and
 * tensors made inside skip autograd's bookkeeping (version counters, views' metadata), which
 * saves time on small batches. Such tensors cannot later enter a graph that records gradients:
 * use it for serving and evaluation, not for attacks.
 */
export function inferenceMode<T>(fn: () => T): T {
  return native.inferenceMode(fn);
}

/** Runs fn with gradient recording on, e.g. inside a noGrad region. */
export function enableGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

export function isGradEnabled(): boolean {
  const previous = native.setGradEnabled(true);
  native.setGradEnabled(previous);
  return previous;
}

export interface GradOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Return null instead of throwing for inputs the outputs do not depend on. */
  allowUnused?: boolean;
}

/** Gradients of `outputs` with respect to `inputs` (PyTorch's `torch.autograd.grad`). */
export function grad(outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], gradOutputs?: readonly Tensor[], o: GradOptions = {}): (Tensor | null)[] {
  const outs = outputs instanceof Tensor ? [outputs] : outputs;
  const result = native.autogradGrad(outs.map((t) => t.handle), inputs.map((t) => t.handle),
    gradOutputs ? gradOutputs.map((t) => t.handle) : null, o.retainGraph ?? false, o.createGraph ?? false, o.allowUnused ?? false);
  return result.map((h) => (h === null ? null : new Tensor(h)));
}

/**
 * The value and the gradient of a scalar function at `x`: what every gradient attack needs.
 * `x` is not modified and needs no requiresGrad; every intermediate tensor is freed.
 */
export function valueAndGrad(fn: (x: Tensor) => Tensor, x: Tensor): { value: Tensor; grad: Tensor } {
  return tidy(() => enableGrad(() => {
    const input = x.detach().requiresGrad_(true);
    const value = fn(input);
    if (value.numel !== 1) throw new RangeError(`valueAndGrad: the function must return a scalar, got shape [${value.shape}]`);
    const [g] = grad(value, [input]);
    return { value: value.detach(), grad: g as Tensor };
  }));
}

/** The gradient of a scalar function at `x` (see {@link valueAndGrad}). */
export function gradOf(fn: (x: Tensor) => Tensor, x: Tensor): Tensor {
  return tidy(() => valueAndGrad(fn, x).grad);
}
