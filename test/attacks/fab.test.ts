/**
 * FAB and FAB-T (l_inf): the exact box-constrained projection onto a hyperplane, the minimal
 * distances FAB reaches on linear models (known in closed form), AutoAttack's success rule on a
 * small CNN trained on real digits, restarts, EOT, memory and option errors.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { FAB, projectLinfHyperplane } from "../../src/attacks/fab.js";
import { withEot } from "../../src/attacks/index.js";
import { manualSeed, memory, rand, randn, setNumThreads, tensor, tidy, type nn, type Tensor } from "../../src/torch/index.js";
import { accuracy, digits, LinearModel, trainCnn } from "./models.js";

setNumThreads(1);

function labels(values: number[]): Tensor {
  return tensor(BigInt64Array.from(values, (v) => BigInt(v)), [values.length]);
}

/** Rows of a flat [m, d] array. */
function rows(flat: number[], d: number): number[][] {
  return Array.from({ length: flat.length / d }, (_, i) => flat.slice(i * d, i * d + d));
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

/**
 * The range of w·z over z in [0, 1]^d with ‖z − p‖_inf <= λ: each coordinate independently at the
 * end of its interval [max(p − λ, 0), min(p + λ, 1)] that lowers (or raises) w·z.
 */
function reachable(p: number[], w: number[], lambda: number): [number, number] {
  let lo = 0;
  let hi = 0;
  p.forEach((pi, i) => {
    const a = w[i] * Math.max(pi - lambda, 0);
    const b = w[i] * Math.min(pi + lambda, 1);
    lo += Math.min(a, b);
    hi += Math.max(a, b);
  });
  return [lo, hi];
}

describe("projectLinfHyperplane", () => {
  test("hand-computed cases: free, one coordinate at its bound, mixed signs, w = 0", () => {
    const cases: { p: number[]; w: number[]; b: number; step: number[] }[] = [
      // w·p = 1 must drop by 0.5: both coordinates move by 0.25.
      { p: [0.5, 0.5], w: [1, 1], b: 0.5, step: [-0.25, -0.25] },
      // Must drop by 0.4; the first coordinate stops at 0 after 0.1, the second then moves 0.3.
      { p: [0.1, 0.5], w: [1, 1], b: 0.2, step: [-0.1, -0.3] },
      // w·p = −0.5 must rise by 1.5: 2·min(λ, 0.8) + min(λ, 0.9) = 1.5 at λ = 0.5.
      { p: [0.2, 0.9], w: [2, -1], b: 1, step: [0.5, -0.5] },
      // A coordinate with w = 0 never moves.
      { p: [0.5, 0.3, 0.5], w: [1, 0, 1], b: 1.5, step: [0.25, 0, 0.25] },
      // Out of reach (w·z <= 2 on the box): every coordinate goes to its bound.
      { p: [0.5, 0.3], w: [1, 1], b: 3, step: [0.5, 0.7] },
      // Already on the hyperplane: no step.
      { p: [0.25, 0.75], w: [1, 1], b: 1, step: [0, 0] },
    ];
    for (const c of cases) {
      const got = tidy(() => projectLinfHyperplane(tensor(c.p, [1, c.p.length]), tensor(c.w, [1, c.w.length]), tensor([c.b], [1])).toArray());
      got.forEach((v, i) => assert.ok(Math.abs(v - c.step[i]) < 1e-6, `${JSON.stringify(c)}: got ${got}`));
    }
  });

  test("random problems: on the hyperplane (or at the box's nearest corner), in the box, and of minimal l_inf length", () => {
    manualSeed(11);
    for (const [m, d] of [[40, 1], [40, 3], [40, 8], [20, 50]]) {
      const { p, w, b, step } = tidy(() => {
        const pt = rand([m, d]);
        // Some zero weights, and right-hand sides both within and beyond the box's reach.
        const wt = randn([m, d]).mul(rand([m, d]).gt(0.15).float());
        const bt = randn([m]).mul(d / 3);
        return { p: rows(pt.toArray(), d), w: rows(wt.toArray(), d), b: bt.toArray(), step: rows(projectLinfHyperplane(pt, wt, bt).toArray(), d) };
      });
      let feasible = 0;
      for (let i = 0; i < m; i++) {
        const z = p[i].map((v, j) => v + step[i][j]);
        const where = `m=${m} d=${d} row ${i}`;
        z.forEach((v) => assert.ok(v >= -1e-6 && v <= 1 + 1e-6, `${where}: left the box (${v})`));
        w[i].forEach((wj, j) => { if (wj === 0) assert.ok(step[i][j] === 0, `${where}: moved a coordinate with w = 0`); });
        const length = Math.max(0, ...step[i].map(Math.abs));
        const [lo, hi] = reachable(p[i], w[i], 1);
        const scale = 1e-5 * (1 + w[i].reduce((s, v) => s + Math.abs(v), 0));
        if (b[i] < lo || b[i] > hi) {
          // Beyond reach: the corner of the box closest to the hyperplane.
          const towards = b[i] < lo ? -1 : 1;
          z.forEach((v, j) => { if (w[i][j] !== 0) assert.ok(Math.abs(v - (Math.sign(w[i][j]) === towards ? 1 : 0)) < 1e-6, `${where}: not at the corner`); });
          continue;
        }
        feasible++;
        assert.ok(Math.abs(dot(w[i], z) - b[i]) < scale, `${where}: w·z = ${dot(w[i], z)}, expected ${b[i]}`);
        // The smallest λ whose ball ∩ box reaches the hyperplane, by bisection.
        let lowL = 0;
        let highL = 1;
        for (let k = 0; k < 60; k++) {
          const mid = (lowL + highL) / 2;
          const [l, h] = reachable(p[i], w[i], mid);
          if (b[i] >= l && b[i] <= h) highL = mid;
          else lowL = mid;
        }
        assert.ok(Math.abs(length - highL) < 1e-5, `${where}: ‖δ‖_inf = ${length}, minimal ${highL}`);
      }
      assert.ok(feasible >= m / 4, `m=${m} d=${d}: only ${feasible} reachable problems tested`);
    }
  });
});

describe("FAB on linear models", () => {
  /**
   * FAB on a 2-class linear model with the box inactive, in units of the minimal distance λ*:
   * every iterate lies on the segment x + r·δ*, where δ* is the step onto the boundary, so the
   * algorithm reduces to a recursion in r (α from the lengths |1 − r| and 1 of the two
   * projections; misclassified when r > 1, then r ← β·r). Returns the smallest misclassified r.
   */
  function closestRatio(steps: number, alphaMax = 0.1, eta = 1.05, beta = 0.9): number {
    let r = 0;
    let best = Infinity;
    for (let k = 0; k < steps; k++) {
      const a1 = Math.max(Math.abs(1 - r), 1e-8);
      const alpha = Math.min(a1 / (a1 + 1), alphaMax);
      r = (r + eta * (1 - r)) * (1 - alpha) + eta * alpha;
      if (r > 1) {
        best = Math.min(best, r);
        r *= beta;
      }
    }
    return best;
  }

  const W2 = [[0.5, -1, 0.3, 0.8, -0.2, 0.1], [-0.4, 0.7, 0.2, -0.6, 0.5, -0.3]];
  const W3 = [...W2, [0.1, 0.2, -0.9, 0.4, 0.3, 0.6]];
  const B3 = [0.1, -0.05, 0];

  /** Points near the middle of the box, their classes and each one's exact l_inf distance to the nearest other class (no box). */
  function problem(w: number[][], b: number[], n: number) {
    manualSeed(2);
    const x = rand([n, w[0].length]).mul(0.3).add(0.35);
    const xs = rows(tidy(() => x.toArray()), w[0].length);
    const y: number[] = [];
    const distance: number[] = [];
    for (const xi of xs) {
      const z = w.map((wc, c) => dot(wc, xi) + b[c]);
      const yi = z.indexOf(Math.max(...z));
      y.push(yi);
      // argmax ≠ y iff some f_c > f_y: the nearest of the half-spaces, each |f_y − f_c| / ‖w_y − w_c‖₁ away.
      distance.push(Math.min(...w.flatMap((wc, c) => (c === yi ? [] : [(z[yi] - z[c]) / w[yi].reduce((s, v, j) => s + Math.abs(v - wc[j]), 0)]))));
    }
    return { x, y: labels(y), distance };
  }

  test("2 classes: FAB and FAB-T reach the distance the recursion predicts, just above the exact minimum", () => {
    const model = new LinearModel(W2, [0.1, -0.05]);
    const { x, y, distance } = problem(W2, [0.1, -0.05], 8);
    const ratio = closestRatio(100);
    assert.ok(ratio > 1 && ratio < 1.01, `recursion gave ${ratio}`);
    for (const targeted of [false, true]) {
      const r = new FAB(model, { eps: 0.5, targeted }).run(x, y);
      r.adversarial.dispose();
      assert.deepEqual(r.success, distance.map(() => true));
      r.linf.forEach((v, i) => {
        assert.ok(v >= distance[i] * (1 - 1e-6), `row ${i}: ${v} below the minimum ${distance[i]}`);
        assert.ok(Math.abs(v / distance[i] - ratio) < 1e-4, `row ${i} (targeted ${targeted}): ratio ${v / distance[i]}, expected ${ratio}`);
      });
    }
    // Fewer steps stop earlier on the same recursion.
    const short = new FAB(model, { eps: 0.5, steps: 1 }).run(x, y);
    short.adversarial.dispose();
    short.linf.forEach((v, i) => assert.ok(Math.abs(v / distance[i] - closestRatio(1)) < 1e-4, `row ${i}: one step gave ${v / distance[i]}`));
  });

  test("3 classes: FAB finds the nearest of the other classes' boundaries within 1 %", () => {
    const model = new LinearModel(W3, B3);
    const { x, y, distance } = problem(W3, B3, 12);
    const r = new FAB(model, { eps: 0.5 }).run(x, y);
    r.adversarial.dispose();
    assert.deepEqual(r.success, distance.map(() => true));
    r.linf.forEach((v, i) => assert.ok(v >= distance[i] * (1 - 1e-6) && v <= distance[i] * 1.01, `row ${i}: ${v}, minimum ${distance[i]}`));
  });

  test("eps decides success: a sample is broken only within eps, else it comes back clean", () => {
    const model = new LinearModel(W3, B3);
    const { x, y, distance } = problem(W3, B3, 12);
    const sorted = [...distance].sort((a, b) => a - b);
    const eps = (sorted[5] + sorted[6]) / 2 * 1.006;
    for (const targeted of [false, true]) {
      const r = new FAB(model, { eps, targeted, targetClasses: 2 }).run(x, y);
      const same = tidy(() => r.adversarial.sub(x).abs().flatten(1).max(1).toArray());
      r.adversarial.dispose();
      r.linf.forEach((v, i) => {
        assert.ok(v <= eps, `row ${i}: ${v} > eps`);
        if (r.success[i]) assert.ok(distance[i] <= eps, `row ${i} broken, but its minimal distance ${distance[i]} > eps`);
        else assert.equal(same[i], 0, `row ${i}: not broken but not returned clean`);
      });
      // Samples well inside eps (by more than FAB's 0.6 % overshoot) are all broken.
      const expected = distance.map((d) => d * 1.0053 < eps);
      expected.forEach((e, i) => { if (e) assert.ok(r.success[i], `row ${i} (targeted ${targeted}): distance ${distance[i]}, eps ${eps}`); });
      assert.ok(expected.filter(Boolean).length >= 5);
    }
  });

  test("misclassified inputs come back unchanged; EOT over a deterministic model changes nothing; no tensors leak", () => {
    const model = new LinearModel(W3, B3);
    const { x, y } = problem(W3, B3, 6);
    const wrong = tidy(() => y.add(1).remainder(3));
    const r = new FAB(model, { eps: 0.5 }).run(x, wrong);
    assert.ok(tidy(() => r.adversarial.sub(x).abs().max().item()) === 0);
    r.adversarial.dispose();
    for (const targeted of [false, true]) {
      const plain = new FAB(model, { eps: 0.5, targeted, steps: 20 }).run(x, y);
      const eot = new FAB(withEot(model, 2), { eps: 0.5, targeted, steps: 20 }).run(x, y);
      assert.ok(tidy(() => plain.adversarial.sub(eot.adversarial).abs().max().item()) < 1e-6);
      plain.adversarial.dispose();
      eot.adversarial.dispose();
    }
    const live = memory().numTensors;
    for (const targeted of [false, true]) new FAB(model, { eps: 0.5, targeted, steps: 5, restarts: 2 }).run(x, y).adversarial.dispose();
    assert.equal(memory().numTensors, live);
  });
});

describe("FAB-T on a small CNN trained on real digits", () => {
  let model: nn.Sequential;
  let x: Tensor;
  let y: Tensor;
  before(() => {
    const train = digits(0, 60);
    ({ x, y } = digits(100, 3));
    model = trainCnn(train.x, train.y);
    assert.ok(accuracy(model, x, y) >= 0.8);
  });

  test("every success is misclassified and within eps, AEs stay in [0, 1], the rest come back clean", () => {
    const eps = 0.1;
    const attack = new FAB(model, { eps, targeted: true, steps: 30, targetClasses: 3 });
    assert.equal(attack.name, "fab-t");
    const r = attack.run(x, y);
    const { predictions, lo, hi, moved } = tidy(() => ({
      predictions: model.forward(r.adversarial).argmax(1).toArray(),
      lo: r.adversarial.min().item(),
      hi: r.adversarial.max().item(),
      moved: r.adversarial.sub(x).abs().flatten(1).max(1).toArray(),
    }));
    r.adversarial.dispose();
    const truth = tidy(() => y.toArray());
    const clean = tidy(() => model.forward(x).argmax(1).toArray());
    assert.ok(lo >= 0 && hi <= 1);
    let broken = 0;
    truth.forEach((label, i) => {
      assert.ok(r.linf[i] <= eps, `row ${i}: ‖δ‖_inf = ${r.linf[i]}`);
      assert.equal(r.success[i], predictions[i] !== label);
      if (clean[i] === label && r.success[i]) broken++;
      if (!r.success[i] || clean[i] !== label) assert.equal(moved[i], 0, `row ${i}: not broken by FAB-T but moved`);
    });
    const correct = clean.filter((p, i) => p === truth[i]).length;
    // At 0.1 on this CNN FAB-T breaks many digits, and not every one.
    assert.ok(broken >= correct / 3 && broken < correct, `broke ${broken} of ${correct}`);
    // More target classes only add successes: the runs for the first target are the same.
    const fewer = new FAB(model, { eps, targeted: true, steps: 30, targetClasses: 1 }).run(x, y);
    fewer.adversarial.dispose();
    fewer.success.forEach((s, i) => { if (s) assert.ok(r.success[i], `row ${i}: broken with 1 target, not with 3`); });
  });

  test("a second restart (from a random start) only adds successes", () => {
    const eps = 0.06;
    const one = new FAB(model, { eps, steps: 20 }).run(x, y);
    const two = new FAB(model, { eps, steps: 20, restarts: 2, seed: 3 }).run(x, y);
    one.adversarial.dispose();
    two.adversarial.dispose();
    one.success.forEach((s, i) => { if (s) assert.ok(two.success[i], `row ${i} lost by the restart`); });
    two.linf.forEach((v) => assert.ok(v <= eps));
  });
});

test("FAB refuses bad options and targeted goals with messages that name them", () => {
  const model = new LinearModel([[1, 0], [0, 1]], [0, 0]);
  assert.equal(new FAB(model).name, "fab");
  assert.deepEqual({ ...new FAB(model).options }, { eps: 8 / 255, steps: 100, restarts: 1, targeted: false, targetClasses: 9, alphaMax: 0.1, eta: 1.05, beta: 0.9, seed: 0 });
  const cases: [object, RegExp][] = [
    [{ steps: 0 }, /steps: expected a positive integer, got 0/],
    [{ restarts: 1.5 }, /restarts: expected a positive integer, got 1\.5/],
    [{ eps: 2 }, /eps: expected a number in \[0, 1\], got 2/],
    [{ targetClasses: 0 }, /targetClasses: expected a positive integer, got 0/],
    [{ alphaMax: -0.1 }, /alphaMax: expected a number in \[0, 1\], got -0\.1/],
    [{ eta: 0.5 }, /eta: expected a number >= 1, got 0\.5/],
    [{ beta: 0 }, /beta: expected a number in \(0, 1\], got 0/],
    [{ targeted: "yes" }, /targeted: expected true or false, got "yes"/],
    [{ targetClass: 3 }, /unknown option "targetClass"/],
  ];
  for (const [options, message] of cases) assert.throws(() => new FAB(model, options as never), message);
  const x = tensor([0.2, 0.4], [1, 2]);
  assert.throws(() => new FAB(model, { targeted: true }).run(x, labels([1]), { target: labels([0]) }), /fab-t: expected an untargeted goal/);
});
