/**
 * APGD's step-size rule and bookkeeping on hand-checkable cases, against the rules of AutoAttack's
 * code: the `<=` oscillation test, the first iteration compared with 0, the no-improvement rule
 * off at the first checkpoint, the EOT gradient, and what comes back for broken and unbroken
 * points; APGD-T's target order on a linear model whose reachable classes are known.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { APGD, APGDTargeted, EotModel, losses } from "../../src/attacks/index.js";
import { apgdSearch, eotLossGrad, type APGDCheckpoint } from "../../src/attacks/apgd.js";
import { setNumThreads, tensor, tidy, type Tensor } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";
import { LinearModel } from "./models.js";

setNumThreads(1);

// Two classes on a 1-d input: z = (x, −x). With label 0 the CE gradient is −2·p₁ < 0 everywhere,
// so every step goes to the lower end of the ball and stays there: the loss rises at most once.
const line = new LinearModel([[1], [-1]], [0, 0]);
const x = tensor([0.5], [1, 1]);
const y = tensor([0], [1], "int64");
const EPS = 0.25; // x ± ε and 2ε are exact in binary, so the iterates sit exactly on the bounds

/** The checkpoints of one 10-step run from `start` (a number) with `rho` and `objective`. */
function checkpoints(start: number, rho: number, objective: (z: Tensor) => Tensor): APGDCheckpoint[] {
  const seen: APGDCheckpoint[] = [];
  tidy(() => apgdSearch(line, x, tensor([start], [1, 1]), {
    eps: EPS, steps: 10, rho, momentum: 0.75, objective,
    reached: (z) => z.argmax(1).ne(y),
    onCheckpoint: (c) => seen.push(c),
  }));
  return seen;
}

const ce = (z: Tensor) => losses.crossEntropy(z, y);

test("APGD halves when the rises are <= ρ·k, counting the first iteration's loss against 0", () => {
  // Start at the best point 0.25. Window 1 = iterations 0 and 1 (N = 10: windows 2, 1, 1, ...):
  // loss₀ > 0 counts as a rise (the reference compares it with an unfilled zero), loss₁ = loss₀ does not.
  const equal = checkpoints(0.25, 0.5, ce); // 1 rise <= 0.5 · 2 = 1: halve
  assert.deepEqual(equal.map((c) => c.iteration), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual({ ...equal[0], stepSize: [] }, { iteration: 2, window: 2, increases: [1], halved: [true], stepSize: [] });
  assertClose(equal[0].stepSize, [EPS]); // 2ε halved
  const below = checkpoints(0.25, 0.49, ce); // 1 rise > 0.98
  // No halving although the best loss did not improve since the start: rule (2) is off at the first checkpoint.
  assert.deepEqual(below[0].halved, [false]);
  assertClose(below[0].stepSize, [2 * EPS]);
  // Second checkpoint (window 1, no rise): 0 <= 0.49 halves.
  assert.deepEqual([below[1].increases, below[1].halved], [[0], [true]]);
});

test("APGD's first comparison is with 0, not with the start's loss", () => {
  // From 0.75 the first step reaches 0.25: the loss rises from the start, but a loss below 0 (CE − 10)
  // is not above the reference's zero, so no rise is counted and 0 <= 0.49 · 2 halves.
  const shifted = checkpoints(0.75, 0.49, (z) => ce(z).sub(10));
  assert.deepEqual([shifted[0].increases, shifted[0].halved], [[0], [true]]);
  // The same path with the loss above 0 counts one rise: 1 > 0.98, no halving.
  const plain = checkpoints(0.75, 0.49, ce);
  assert.deepEqual([plain[0].increases, plain[0].halved], [[1], [false]]);
});

test("APGD's no-improvement rule: off at the first checkpoint, then halves when the best loss stalled", () => {
  // A model that ignores its input and plays a scripted loss: start 5 (the best, never beaten), then
  // 1 (> 0: a rise), 0.5, 0.8 (a rise over 0.5), ... With ρ = 0.25 both windows have more rises than
  // ρ·k (1 > 0.5, 1 > 0.25), so only rule (2) can halve: not at the first checkpoint, but at the second.
  const script = [5, 1, 0.5, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
  let call = 0;
  const scripted = (input: Tensor) => input.mul(0).add(script[call++]);
  const seen: APGDCheckpoint[] = [];
  tidy(() => apgdSearch(scripted, x, x.clone(), {
    eps: EPS, steps: 10, rho: 0.25, momentum: 0.75, objective: (z) => z.select(1, 0),
    reached: (z) => z.select(1, 0).lt(-1e9), onCheckpoint: (c) => seen.push(c),
  }));
  assert.equal(call, script.length);
  assert.deepEqual(seen.slice(0, 2).map((c) => [c.iteration, c.increases[0], c.halved[0]]), [[2, 1, false], [3, 1, true]]);
});

test("eotLossGrad averages the gradient over the draws and keeps the last draw's loss and logits", () => {
  // Draw k (1, 2, 3) scales the logits by k: z = k·(x, −x); the objective z₁ has gradient −k.
  let draw = 0;
  const scaled = new EotModel((input: Tensor) => {
    draw++;
    return line.forward(input).mul(draw);
  }, 3);
  tidy(() => {
    const { loss, grad, logits } = eotLossGrad(scaled, tensor([0.5], [1, 1]), (z) => z.select(1, 1));
    assertClose(grad.toArray(), [-(1 + 2 + 3) / 3]);
    assertClose(loss.toArray(), [-1.5]); // last draw: 3 · (−0.5)
    assertClose(logits.toArray(), [1.5, -1.5]);
  });
});

test("APGD returns the adversarial example where it breaks a point and the clean input elsewhere", () => {
  // Four classes, z = (x₀, x₁, x₂, x₃) + b: rows 0 and 1 can be broken within ε = 0.1, row 2 cannot
  // (a margin of 0.5), row 3 is misclassified already and is left alone.
  const model = new LinearModel([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], [0, 0, 0, 0]);
  tidy(() => {
    const xs = tensor([0.5, 0.45, 0, 0, /**/ 0.35, 0.5, 0.22, 0, /**/ 0.9, 0.4, 0, 0, /**/ 0.2, 0.6, 0, 0], [4, 4]);
    const ys = tensor([0, 1, 0, 0], [4], "int64");
    const r = new APGD(model, { eps: 0.1, steps: 20, restarts: 2, seed: 3 }).run(xs, ys);
    assert.deepEqual(r.success, [true, true, false, true]);
    const adv = r.adversarial.toArray();
    const clean = xs.toArray();
    assert.deepEqual(adv.slice(8), clean.slice(8), "rows 2 and 3 are returned unchanged");
    assert.ok(r.linf[0] > 0 && r.linf[1] > 0 && r.linf[0] <= 0.1 + 1e-6 && r.linf[1] <= 0.1 + 1e-6);
  });
});

// APGD-T on four classes over 20 inputs, clean point 0.2 everywhere, ε = 0.3 (so x ∈ [0, 0.5]):
// z₀ = 1 (the label), z₁ = 0.9 (never above z₀), z₂ = −3.97 + 10·x₀ (1.03 at x₀ = 0.5),
// z₃ = −3.98 + 10·x₁ (1.02 at x₁ = 0.5). Clean ranking: 0, 1, 2, 3. Aiming at class 1 cannot
// succeed; aiming at 2 (or 3) pushes only x₀ (x₁) to the corner and ends in that class.
const D = 20;
const row = (i: number, v: number) => Array.from({ length: D }, (_, j) => (j === i ? v : 0));
const ranked = new LinearModel([row(0, 0), row(0, 0), row(0, 10), row(1, 10)], [1, 0.9, -3.97, -3.98]);

function apgdT(targetClasses: number) {
  return tidy(() => {
    const xs = tensor(new Array(4 * D).fill(0.2), [4, D]);
    const r = new APGDTargeted(ranked, { eps: 0.3, steps: 20, targetClasses, seed: 1 }).run(xs, tensor([0, 0, 0, 0], [4], "int64"));
    return { success: r.success, predictions: r.predictions, moved: r.linf.map((n) => n > 0) };
  });
}

test("APGD-T aims at the classes in the order of the clean logits, untargeted success", () => {
  // The 2nd class (1) is unreachable: nothing breaks, every point comes back clean.
  assert.deepEqual(apgdT(1), { success: [false, false, false, false], predictions: [0, 0, 0, 0], moved: [false, false, false, false] });
  // Then the 3rd (class 2) breaks every point, before the 4th (class 3) is tried.
  assert.deepEqual(apgdT(3), { success: [true, true, true, true], predictions: [2, 2, 2, 2], moved: [true, true, true, true] });
  assert.throws(() => apgdT(4), /targetClasses: apgd-t asks for 4 target classes, but a model with 4 classes has only 3 besides the label/);
});

test("APGD-T with a given target aims at it and succeeds only there", () => {
  tidy(() => {
    const xs = tensor(new Array(2 * D).fill(0.2), [2, D]);
    const r = new APGDTargeted(ranked, { eps: 0.3, steps: 20, seed: 1 }).run(xs, tensor([0, 0], [2], "int64"), { target: tensor([3, 1], [2], "int64") });
    assert.deepEqual(r.predictions, [3, 0]);
    assert.deepEqual(r.success, [true, false]);
  });
});

test("APGD-DLR warns about start points with an exactly zero gradient", () => {
  // Constant logits: the DLR gradient is zero everywhere.
  const flat = new LinearModel([[0, 0], [0, 0], [0, 0]], [1, 0, -1]);
  const warnings: string[] = [];
  tidy(() => new APGD(flat, { loss: "dlr", eps: 0.1, steps: 3, log: (m) => warnings.push(m) }).run(tensor([0.5, 0.5, 0.2, 0.2, 0.7, 0.1], [3, 2]), tensor([0, 0, 1], [3], "int64")));
  // Rows 0 and 1 (label 0 = the prediction) are attacked; row 2 is misclassified already.
  assert.deepEqual(warnings, ["apgd-dlr: 2 points have an exactly zero gradient at the start; gradient-based attacks cannot move them, so their robustness may be overestimated (gradient masking?)"]);
  const quiet: string[] = [];
  tidy(() => new APGD(flat, { loss: "ce", eps: 0.1, steps: 3, log: (m) => quiet.push(m) }).run(tensor([0.5, 0.5], [1, 2]), tensor([0], [1], "int64")));
  assert.deepEqual(quiet, [], "AutoAttack checks the gradients of the DLR runs only");
});
