/**
 * Square Attack: the p schedule and square side against values worked out from the reference's
 * formulas (AutoAttack's square.py), the l_inf sign structure of its examples, exact behaviour on a
 * linear model whose distances to the boundary are known, a model that cannot be differentiated,
 * query counts, reproducibility, batch independence and option errors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PGD } from "../../src/attacks/index.js";
import { fmix32 } from "../../src/core/seeds.js";
import { Square, squareP, squareSide } from "../../src/attacks/square.js";
import { isGradEnabled, keep, manualSeed, memory, noGrad, rand, randn, setNumThreads, tensor, tidy, type Tensor } from "../../src/torch/index.js";
import { LinearModel, smallCnn } from "./models.js";

setNumThreads(1);

test("p schedule: AutoAttack's (the iteration itself) and the rescaled one, at hand-computed iterations", () => {
  // [iteration, queries, rescale, expected p] with pInit 0.8. Unscaled, p halves after iterations
  // 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000; rescaled, the iteration is first mapped to
  // int(it / queries * 10000): 5/5000 -> 10, 6/5000 -> 12, 26/5000 -> 52, 4001/5000 -> 8002,
  // 2/1000 -> 20, 999/1000 -> 9990, 3/3000 -> 10.
  const cases: [number, number, boolean, number][] = [
    [0, 5000, false, 0.8], [10, 5000, false, 0.8], [11, 5000, false, 0.4], [50, 5000, false, 0.4],
    [51, 5000, false, 0.2], [200, 5000, false, 0.2], [201, 5000, false, 0.1], [501, 5000, false, 0.05],
    [1001, 5000, false, 0.025], [2001, 5000, false, 0.0125], [4000, 5000, false, 0.0125],
    [4001, 5000, false, 0.00625], [4999, 5000, false, 0.00625], [8001, 10000, false, 0.8 / 512],
    [5, 5000, true, 0.8], [6, 5000, true, 0.4], [25, 5000, true, 0.4], [26, 5000, true, 0.2],
    [4000, 5000, true, 0.8 / 256], [4001, 5000, true, 0.8 / 512], [1, 1000, true, 0.8],
    [2, 1000, true, 0.4], [999, 1000, true, 0.8 / 512], [3, 3000, true, 0.8], [33, 3000, true, 0.2],
    [8001, 10000, true, 0.8 / 512],
  ];
  for (const [it, queries, rescale, p] of cases) {
    assert.equal(squareP(it, queries, 0.8, rescale), p, `p at iteration ${it} of ${queries} (rescale ${rescale})`);
  }
  assert.equal(squareP(300, 5000, 0.3, false), 0.3 / 8);
});

test("square side: max(round(sqrt(p·H·W)), 1) with Python's half-to-even rounding, at most min(H, W)", () => {
  assert.equal(squareSide(0.8, 1, 28, 28), 25); // sqrt(627.2) = 25.04
  assert.equal(squareSide(0.8, 3, 32, 32), 29); // sqrt(819.2) = 28.62
  assert.equal(squareSide(0.8 / 512, 1, 28, 28), 1); // sqrt(1.225) = 1.107
  assert.equal(squareSide(1e-6, 3, 32, 32), 1); // never below 1
  assert.equal(squareSide(1, 1, 28, 28), 28);
  assert.equal(squareSide(0.8, 3, 10, 7), 7); // sqrt(56) = 7.48 -> 7, within min(H, W) = 7
  assert.equal(squareSide(1, 1, 10, 4), 4); // sqrt(40) = 6.3 -> 6, clipped to min(H, W) = 4
  assert.equal(squareSide(0.0625, 1, 10, 10), 2); // sqrt(6.25) = 2.5 -> 2 (half to even)
  assert.equal(squareSide(0.0625, 3, 10, 10), 2);
  assert.equal(squareSide(0.2025, 1, 10, 10), 4); // sqrt(20.25) = 4.5 -> 4
});

/** A 2-class linear model on 1x8x8 images: z0 = w·x + b, z1 = 0, with random signs in w and ‖w‖₁ = 1. */
function linearCase(distances: number[]): { model: LinearModel; x: Tensor; y: Tensor } {
  const d = 64;
  // Fixed pseudo-random signs (the low bit of a hash of the index), independent of any generator.
  const signs = Array.from({ length: d }, (_, i) => (fmix32(i + 1) & 1 ? 1 : -1));
  const sumW = signs.reduce((a, s) => a + s / d, 0);
  const model = new LinearModel([signs.map((s) => s / d), new Array(d).fill(0)], [-0.5 * sumW, 0]);
  // x = 0.5 + a·sign(w) has margin w·x + b = a, and l_inf distance a to the boundary (‖w‖₁ = 1);
  // its pixels stay inside [eps, 1 − eps], so clipping plays no part.
  const pixels = distances.flatMap((a) => signs.map((s) => 0.5 + a * s));
  const x = keep(tensor(Float32Array.from(pixels), [distances.length, 1, 8, 8]));
  const y = keep(tensor(BigInt64Array.from(distances, () => 0n), [distances.length]));
  return { model, x, y };
}

const EPS = 0.1;

test("linear model: breaks every point well inside ε of the boundary, none beyond ε, and counts queries", () => {
  const near = [0.01, 0.02, 0.03, 0.04];
  const far = [0.105, 0.12, 0.2, 0.4];
  const { model, x, y } = linearCase([...near, ...far]);
  // AutoAttack's schedule reaches 1-pixel squares after iteration 1000, which a random-sign w needs.
  const queries = 2000;
  const attack = new Square(model, { eps: EPS, queries, seed: 1 });
  const r = attack.run(x, y);
  assert.deepEqual(r.success, [...near.map(() => true), ...far.map(() => false)]);
  // Stripes cost 1 query; each iteration 1 more while the sample is unbroken.
  near.forEach((_, i) => assert.ok(r.queries[i] >= 1 && r.queries[i] < queries, `near point ${i} took ${r.queries[i]} queries`));
  far.forEach((_, i) => assert.equal(r.queries[near.length + i], queries + 1));
  assert.deepEqual(attack.queryCounts, r.queries);
  // The far points still got close to the best an l_inf step can do: margin a − ε·(agreement).
  const margins = tidy(() => {
    const z = model.forward(r.adversarial);
    return z.select(1, 0).sub(z.select(1, 1)).toArray();
  });
  far.forEach((a, i) => {
    const m = margins[near.length + i];
    assert.ok(m >= a - EPS - 1e-6, `far point ${i}: margin ${m} below the bound ${a - EPS}`);
    assert.ok(m <= a - 0.6 * EPS, `far point ${i}: margin ${m}, the search made little progress from ${a}`);
  });
  r.adversarial.dispose();
});

test("examples differ from x by ±ε per pixel (clipped to [0, 1]), within the budget", () => {
  tidy(() => {
    manualSeed(3);
    // A random 10-class linear model on 1x12x12 images in [0, 1): some pixels meet the box.
    const d = 144;
    const weights = randn([10, d]).toArray();
    const model = new LinearModel(Array.from({ length: 10 }, (_, k) => weights.slice(k * d, (k + 1) * d)), new Array(10).fill(0));
    const x = rand([6, 1, 12, 12]);
    const y = noGrad(() => model.forward(x).argmax(1));
    const eps = 0.05;
    for (const loss of ["margin", "ce"] as const) {
      const r = new Square(model, { eps, queries: 100, seed: 2, loss }).run(x, y);
      const adv = r.adversarial.toArray();
      const clean = x.toArray();
      let clipped = 0;
      const sign = adv.map((v, i) => {
        const up = Math.min(clean[i] + eps, 1);
        const down = Math.max(clean[i] - eps, 0);
        assert.ok(Math.abs(v - up) < 1e-6 || Math.abs(v - down) < 1e-6, `${loss}: pixel ${i} = ${v}, x = ${clean[i]}: not x ± ε`);
        if (up === 1 || down === 0) clipped++;
        return Math.abs(v - up) < 1e-6 ? 1 : -1;
      });
      assert.ok(clipped > 0, "some pixels should meet the [0, 1] box");
      for (const n of r.linf) assert.ok(n <= eps + 1e-6);
      assert.ok(r.success.some(Boolean) && !r.success.every(Boolean), `${loss}: successes ${r.success}`);
      // The stripes give each column one sign; accepted squares break that pattern somewhere.
      const mixed = Array.from({ length: 6 * 12 }, (_, k) => {
        const [row, col] = [Math.floor(k / 12), k % 12];
        const column = Array.from({ length: 12 }, (_, i) => sign[row * d + i * 12 + col]);
        return new Set(column).size > 1;
      });
      assert.ok(mixed.some(Boolean), `${loss}: no square was ever accepted`);
    }
  });
});

test("already misclassified points are returned unchanged and cost no queries", () => {
  const { model, x, y } = linearCase([0.02, 0.3]);
  tidy(() => {
    const wrong = tensor(BigInt64Array.from([1n, 0n]), [2]); // row 0 is predicted 0, so label 1 is wrong
    const r = new Square(model, { eps: EPS, queries: 50 }).run(x, wrong);
    assert.equal(r.queries[0], 0);
    assert.deepEqual(r.adversarial.narrow(0, 0, 1).toArray(), x.narrow(0, 0, 1).toArray());
    assert.equal(r.queries[1], 51);
  });
});

test("restarts attack only the unbroken points again and add up their queries", () => {
  const { model, x, y } = linearCase([0.005, 0.3]);
  tidy(() => {
    const one = new Square(model, { eps: EPS, queries: 30, seed: 4 }).run(x, y);
    assert.deepEqual(one.success, [true, false]);
    const two = new Square(model, { eps: EPS, queries: 30, seed: 4, restarts: 2 }).run(x, y);
    assert.equal(two.queries[1], 2 * 31);
    // The broken point is not attacked again: same queries, same example.
    assert.equal(two.queries[0], one.queries[0]);
    assert.deepEqual(two.adversarial.narrow(0, 0, 1).toArray(), one.adversarial.narrow(0, 0, 1).toArray());
  });
});

test("works on a model that cannot be differentiated, and never records gradients", () => {
  const { model: linear, x, y } = linearCase([0.01, 0.02, 0.03, 0.2]);
  let calls = 0;
  // Quantises the input through JS numbers to 8 bits: no autograd graph can pass through it.
  const quantised = (input: Tensor): Tensor => {
    calls++;
    assert.equal(isGradEnabled(), false, "Square must not record gradients");
    const q = Float32Array.from(input.toArray(), (v) => Math.round(v * 255) / 255);
    return linear.forward(tensor(q, input.shape));
  };
  assert.throws(() => new PGD(quantised, { eps: EPS, steps: 2, stepSize: EPS / 2 }).run(x, y), "a gradient attack cannot run on it");
  calls = 0;
  const r = new Square(quantised, { eps: EPS, queries: 300, seed: 1 }).run(x, y);
  assert.deepEqual(r.success, [true, true, true, false]);
  assert.ok(calls > 0);
  r.adversarial.dispose();
});

test("the same seed gives the same examples; another seed other ones; a sample alone equals its row", () => {
  tidy(() => {
    manualSeed(5);
    const model = smallCnn(1, 12, 10).eval();
    const x = rand([5, 1, 12, 12]);
    const y = noGrad(() => model.forward(x).argmax(1));
    const o = { eps: 0.03, queries: 40 };
    const ids = [10, 11, 12, 13, 14];
    const a = new Square(model, { ...o, seed: 7 }).run(x, y, { sampleIds: ids });
    const b = new Square(model, { ...o, seed: 7 }).run(x, y, { sampleIds: ids });
    const c = new Square(model, { ...o, seed: 8 }).run(x, y, { sampleIds: ids });
    assert.deepEqual(a.adversarial.toArray(), b.adversarial.toArray());
    assert.deepEqual(a.queries, b.queries);
    assert.notDeepEqual(a.adversarial.toArray(), c.adversarial.toArray());
    const size = 144;
    const batch = a.adversarial.toArray();
    for (const row of [0, 3]) {
      const alone = new Square(model, { ...o, seed: 7 }).run(x.narrow(0, row, 1), y.narrow(0, row, 1), { sampleIds: [ids[row]] });
      const expected = batch.slice(row * size, (row + 1) * size);
      alone.adversarial.toArray().forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `row ${row} pixel ${i}`));
      assert.equal(alone.queries[0], a.queries[row]);
    }
  });
});

test("targeted: reaches the target class on the linear model when it is within ε", () => {
  tidy(() => {
    // Three classes: z0 = w·x + b, z1 = 0, z2 = −(w·x + b) + 0.01: class 2 is reached exactly when class 1 is.
    const { model: base, x } = linearCase([0.02, 0.3]);
    const w = base.weight.toArray();
    const d = 64;
    const b = base.bias.toArray();
    const three = new LinearModel([w.slice(0, d), new Array(d).fill(0), w.slice(0, d).map((v) => -v)], [b[0], 0, -b[0] + 0.01]);
    const y = tensor(BigInt64Array.from([0n, 0n]), [2]);
    const target = tensor(BigInt64Array.from([2n, 2n]), [2]);
    const r = new Square(three, { eps: EPS, queries: 200, seed: 1 }).run(x, y, { target });
    assert.deepEqual(r.success, [true, false]);
    assert.deepEqual(r.predictions.slice(0, 1), [2]);
  });
});

test("leaves no tensors behind, also when the model fails mid-run", () => {
  const { model, x, y } = linearCase([0.02, 0.3]);
  const before = memory().numTensors;
  new Square(model, { eps: EPS, queries: 50, restarts: 2 }).run(x, y).adversarial.dispose();
  assert.equal(memory().numTensors, before);
  let calls = 0;
  const failing = (input: Tensor): Tensor => {
    if (++calls === 5) throw new Error("model failed");
    return model.forward(input);
  };
  assert.throws(() => new Square(failing, { eps: EPS, queries: 50 }).run(x, y), /model failed/);
  assert.equal(memory().numTensors, before);
});

test("defaults are AutoAttack's: ε 8/255, 5000 queries, pInit 0.8, 1 restart, margin loss, seed 0, unscaled schedule", () => {
  const { model, x, y } = linearCase([0.3]);
  const square = new Square(model);
  assert.equal(square.name, "square");
  assert.deepEqual({ ...square.options }, { eps: 8 / 255, queries: 5000, pInit: 0.8, restarts: 1, loss: "margin", seed: 0, rescaleSchedule: false });
  // The schedule option reaches the search: with 30 queries the rescaled squares shrink at once.
  tidy(() => {
    const plain = new Square(model, { queries: 30 }).run(x, y).adversarial.toArray();
    const rescaled = new Square(model, { queries: 30, rescaleSchedule: true }).run(x, y).adversarial.toArray();
    assert.notDeepEqual(plain, rescaled);
  });
});

test("bad options and inputs give clear errors", () => {
  const { model, x, y } = linearCase([0.02]);
  const make = (o: Record<string, unknown>) => () => new Square(model, o as never);
  assert.throws(make({ eps: -0.1 }), /eps: expected a number in \[0, 1\], got -0.1/);
  assert.throws(make({ queries: 0 }), /queries: expected a positive integer, got 0/);
  assert.throws(make({ queries: 2.5 }), /queries: expected a positive integer, got 2.5/);
  assert.throws(make({ pInit: 0 }), /pInit: expected a number in \(0, 1\], got 0/);
  assert.throws(make({ pInit: 1.5 }), /pInit: expected a number in \(0, 1\], got 1.5/);
  assert.throws(make({ restarts: 0 }), /restarts: expected a positive integer, got 0/);
  assert.throws(make({ loss: "dlr" }), /loss: expected one of "margin", "ce", got "dlr"/);
  assert.throws(make({ seed: -1 }), /seed: expected an integer in \[0, 4294967295\], got -1/);
  assert.throws(make({ rescaleSchedule: "yes" }), /rescaleSchedule: expected true or false, got "yes"/);
  assert.throws(make({ nQueries: 10 }), /Square: unknown option "nQueries"/);
  const flat = new Square((t: Tensor) => tensor([0, 1], [1, 2]).expand([t.size(0), 2]), { queries: 2 });
  assert.throws(() => tidy(() => flat.run(x.flatten(1), y)), /x: Square expects images \[N, C, H, W\], got shape \[1,64\]/);
});
