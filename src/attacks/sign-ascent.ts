/**
 * The loop shared by BIM, PGD and CW-l_inf: repeated signed-gradient steps, each followed by the
 * exact projection onto the l_inf ball ∩ [0, 1]. Each iteration runs in its own scope; only the
 * current iterate survives it.
 */
import { tidy, type Tensor } from "../torch/index.js";
import { linfBounds, projectLinf } from "./projection.js";

export interface SignAscentOptions {
  eps: number;
  steps: number;
  stepSize: number;
}

/**
 * Starting at `start` (inside the ball), takes `steps` steps x ← Π(x + α·sign(∇)) where `gradient`
 * returns the gradient of the objective to maximise. Returns the last iterate (a new tensor).
 */
export function signAscent(x: Tensor, start: Tensor, gradient: (adv: Tensor) => Tensor, o: SignAscentOptions): Tensor {
  const bounds = linfBounds(x, o.eps);
  try {
    let adv = projectLinf(start, bounds);
    for (let i = 0; i < o.steps; i++) {
      const next = tidy(() => projectLinf(adv.add(gradient(adv).sign(), o.stepSize), bounds));
      adv.dispose();
      adv = next;
    }
    return adv;
  } finally {
    bounds.lower.dispose();
    bounds.upper.dispose();
  }
}
