import { noGrad, type Tensor } from "../torch/index.js";
import type { Classifier } from "./classifier.js";

/**
 * Runs fn with the classifier frozen: eval mode (batch-norm statistics fixed) and no parameter
 * gradients, so training a module in front of or behind it never changes it. Restores both after.
 */
export function withFrozen<T>(model: Classifier, fn: () => T): T {
  const params: Tensor[] = model.parameters();
  const flags = params.map((p) => p.requiresGrad);
  model.eval();
  noGrad(() => {
    for (const p of params) p.requiresGrad = false;
  });
  try {
    return fn();
  } finally {
    params.forEach((p, i) => (p.requiresGrad = flags[i]));
  }
}

/** The async variant of {@link withFrozen}. */
export async function withFrozenAsync<T>(model: Classifier, fn: () => Promise<T>): Promise<T> {
  const params: Tensor[] = model.parameters();
  const flags = params.map((p) => p.requiresGrad);
  model.eval();
  for (const p of params) p.requiresGrad = false;
  try {
    return await fn();
  } finally {
    params.forEach((p, i) => (p.requiresGrad = flags[i]));
  }
}
