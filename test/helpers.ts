/** Shared test helpers: closeness checks and a finite-difference gradient check. */
import assert from "node:assert/strict";
import { enableGrad, grad, noGrad, tensor, tidy, type Tensor } from "../src/torch/index.js";

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = "values"): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (tol ${tol})`);
    }
  }
}

export const values = (t: Tensor): number[] => t.toArray();

/**
 * Compares autograd's gradient of sum(fn(inputs) * w) (w random but fixed) with central finite
 * differences, in float64, for every input element.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], h = 1e-6, tol = 1e-5): void {
  tidy(() => {
    const xs = inputs.map((x) => x.double().detach().requiresGrad_(true));
    const out0 = noGrad(() => fn(...xs));
    const w = tensor(Float64Array.from({ length: out0.numel }, (_, i) => Math.sin(i + 1)), out0.shape);
    const objective = (...a: Tensor[]) => fn(...a).mul(w).sum();
    const analytic = enableGrad(() => grad(objective(...xs), xs, undefined, { allowUnused: true }));
    xs.forEach((x, k) => {
      const data = x.detach().toTypedArray() as Float64Array;
      const numeric = new Float64Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const at = (delta: number) => tidy(() => {
          const copy = Float64Array.from(data);
          copy[i] += delta;
          const args = xs.map((other, j) => (j === k ? tensor(copy, x.shape) : other.detach()));
          return noGrad(() => objective(...args).item());
        });
        numeric[i] = (at(h) - at(-h)) / (2 * h);
      }
      const g = analytic[k];
      const a = g === null ? new Float64Array(data.length) : (g.toTypedArray() as Float64Array);
      assertClose(a, numeric, tol, `gradient of input ${k}`);
    });
  });
}
