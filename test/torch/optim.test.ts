import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { optim, tensor, type Tensor } from "../../src/torch/index.js";
import { assertClose, values } from "../helpers.js";

/** One parameter with a fixed gradient per step. */
function run(make: (p: Tensor) => optim.Optimizer, grads: number[][], start = [1, -2]): number[] {
  const p = tensor(start).requiresGrad_();
  const opt = make(p);
  for (const g of grads) {
    p.grad = tensor(g);
    opt.step();
  }
  return values(p);
}

describe("optimizers against hand-computed updates", () => {
  it("SGD: plain, weight decay", () => {
    assertClose(run((p) => new optim.SGD([p], { lr: 0.1 }), [[1, 1]]), [0.9, -2.1]);
    assertClose(run((p) => new optim.SGD([p], { lr: 0.1, weightDecay: 0.5 }), [[1, 1]]), [1 - 0.1 * 1.5, -2 - 0.1 * 0]);
  });
  it("SGD momentum and Nesterov over two steps", () => {
    // buf1 = g1; buf2 = 0.9 buf1 + g2
    assertClose(run((p) => new optim.SGD([p], { lr: 0.1, momentum: 0.9 }), [[1, 0], [2, 0]]), [1 - 0.1 * 1 - 0.1 * 2.9, -2]);
    // nesterov: step uses g + 0.9 buf
    assertClose(run((p) => new optim.SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true }), [[1, 0], [2, 0]]),
      [1 - 0.1 * (1 + 0.9) - 0.1 * (2 + 0.9 * 2.9), -2]);
  });
  it("Adam over two steps, with and without weight decay", () => {
    const adam = (g: number[], lr: number, wd: number, p0: number) => {
      let m = 0, v = 0, p = p0;
      g.forEach((gi, t) => {
        const gg = gi + wd * p;
        m = 0.9 * m + 0.1 * gg;
        v = 0.999 * v + 0.001 * gg * gg;
        const mh = m / (1 - 0.9 ** (t + 1));
        const vh = v / (1 - 0.999 ** (t + 1));
        p -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
      });
      return p;
    };
    assertClose(run((p) => new optim.Adam([p], { lr: 0.01 }), [[0.5, -3], [1, 2]]), [adam([0.5, 1], 0.01, 0, 1), adam([-3, 2], 0.01, 0, -2)]);
    assertClose(run((p) => new optim.Adam([p], { lr: 0.01, weightDecay: 0.1 }), [[0.5, -3], [1, 2]]), [adam([0.5, 1], 0.01, 0.1, 1), adam([-3, 2], 0.01, 0.1, -2)]);
  });
  it("AdamW decays the weights directly", () => {
    const [p] = run((q) => new optim.Adam([q], { lr: 0.1, weightDecay: 0.5, decoupled: true }), [[0, 0]], [2, 0]);
    assertClose([p], [2 * (1 - 0.05)]);
  });
  it("skips parameters without a gradient; zeroGrad clears", () => {
    const p = tensor([1]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 1 });
    opt.step();
    assert.deepEqual(values(p), [1]);
    p.grad = tensor([1]);
    opt.zeroGrad();
    assert.equal(p.grad, null);
  });
  it("rejects bad options with the option's name", () => {
    const p = tensor([1]).requiresGrad_();
    assert.throws(() => new optim.SGD([p], { lr: -1 }), /lr: expected a number/);
    assert.throws(() => new optim.Adam([p], { betas: [0.9, 1.5] }), /betas\[1\]/);
    assert.throws(() => new optim.SGD([tensor([1])], { lr: 1 }), /must require grad/);
    assert.throws(() => new optim.SGD([p], { lr: 1, nesterov: true }), /nesterov needs momentum/);
  });
});

describe("learning-rate schedules", () => {
  const opt = (lr: number) => new optim.SGD([tensor([1]).requiresGrad_()], { lr });
  const trace = (s: optim.LRScheduler, n: number) => [s.optimizer.lr, ...Array.from({ length: n }, () => s.step())];
  it("StepLR", () => {
    assertClose(trace(new optim.StepLR(opt(1), 2, 0.1), 4), [1, 1, 0.1, 0.1, 0.01]);
  });
  it("CosineAnnealingLR follows 0.5(1+cos(pi t/T))", () => {
    assertClose(trace(new optim.CosineAnnealingLR(opt(1), 4), 4), [1, 0.5 + 0.5 * Math.SQRT1_2, 0.5, 0.5 - 0.5 * Math.SQRT1_2, 0]);
  });
  it("CyclicLR: linear up then down (fast adversarial training's schedule)", () => {
    assertClose(trace(new optim.CyclicLR(opt(0), { baseLr: 0, maxLr: 0.2, stepSizeUp: 2, stepSizeDown: 2 }), 4), [0, 0.1, 0.2, 0.1, 0]);
  });
  it("OneCycleLR: starts at maxLr/divFactor, peaks at maxLr, ends at the final lr", () => {
    const s = new optim.OneCycleLR(opt(0), { maxLr: 1, totalSteps: 10, pctStart: 0.3 });
    const lrs = trace(s, 9);
    assertClose([lrs[0]], [1 / 25]);
    assertClose([lrs[2]], [1]);
    assertClose([lrs[9]], [1 / 25 / 1e4]);
    assert.ok(lrs.slice(2).every((v, i, a) => i === 0 || v <= a[i - 1]), "anneals monotonically after the peak");
  });
});

describe("optimizer state for checkpoints", () => {
  it("a resumed Adam continues exactly like an uninterrupted one", () => {
    const grads = [[0.5, -3], [1, 2], [-0.2, 0.7], [0.3, 0.3]];
    const straight = run((p) => new optim.Adam([p], { lr: 0.01 }), grads);
    const p = tensor([1, -2]).requiresGrad_();
    const first = new optim.Adam([p], { lr: 0.01 });
    for (const g of grads.slice(0, 2)) {
      p.grad = tensor(g);
      first.step();
    }
    const saved = new Map([...first.stateDict()].map(([k, t]) => [k, t.clone()]));
    assert.deepEqual([...saved.keys()].sort(), ["exp_avg.0", "exp_avg_sq.0"]);
    const resumed = new optim.Adam([p], { lr: 0.01 });
    resumed.loadStateDict(saved, first.stepCount);
    for (const g of grads.slice(2)) {
      p.grad = tensor(g);
      resumed.step();
    }
    assertClose(values(p), straight);
  });
  it("rejects state that does not fit the parameters", () => {
    const p = tensor([1, 2]).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    assert.throws(() => opt.loadStateDict(new Map([["momentum_buffer.0", tensor([1, 2, 3])]]), 1), /has shape \[3\], parameter 0 has \[2\]/);
    assert.throws(() => opt.loadStateDict(new Map([["nope.0", tensor([1, 2])]]), 1), /unexpected key nope\.0/);
  });
});
