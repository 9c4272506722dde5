import { describe, it } from "node:test";
import { F, cat, stack, manualSeed, randn, rand, tensor, where, type Tensor } from "../../src/torch/index.js";
import { gradcheck } from "../helpers.js";

manualSeed(1);
const r = (shape: number[]) => randn(shape, { dtype: "float64" });
const pos = (shape: number[]) => rand(shape, { dtype: "float64" }).add(0.5);

describe("finite-difference gradients", () => {
  it("broadcasting arithmetic", () => {
    gradcheck((a, b) => a.add(b, 2).mul(a).sub(b).div(b.abs().add(1)), [r([2, 3]), r([3])]);
    gradcheck((a) => a.rsub(1).neg().pow(2), [r([4])]);
    gradcheck((a, b) => a.pow(b), [pos([3]), r([3])]);
  });
  it("elementwise functions", () => {
    gradcheck((a) => a.sqrt().add(a.exp()).add(a.log()).add(a.rsqrt()), [pos([5])]);
    gradcheck((a) => a.tanh().add(a.sigmoid()).add(a.square()).add(a.atanh().mul(0.1)), [rand([5], { dtype: "float64" }).mul(0.8)]);
    // Away from kinks (|x| > 0.1) abs, relu, clamp and leaky relu are differentiable.
    const away = tensor([-1.3, -0.7, 0.4, 0.9, 1.6, -0.2], [6], "float64");
    gradcheck((a) => a.abs().add(F.relu(a)).add(a.clamp(-1, 1)).add(F.leakyRelu(a, 0.2)), [away]);
  });
  it("reductions and norms", () => {
    gradcheck((a) => a.sum(1).add(a.mean(0).sum()), [r([3, 4])]);
    gradcheck((a) => a.max(1).add(a.min(0).sum()), [r([3, 4])]);
    gradcheck((a) => F.l2PerSample(a).add(a.norm(2)), [r([2, 3, 2])]);
    gradcheck((a) => F.linfPerSample(a), [tensor([0.1, -0.9, 0.3, 0.5, 0.2, -0.1], [2, 3], "float64")]);
  });
  it("shape ops, indexing, cat/stack, where", () => {
    gradcheck((a) => a.reshape([6, 2]).permute([1, 0]).slice(1, 1, 5).select(0, 1), [r([3, 4])]);
    gradcheck((a, b) => cat([a, b], 1).flatten().unsqueeze(0), [r([2, 2]), r([2, 3])]);
    gradcheck((a, b) => stack([a, b], 0).transpose(0, 1), [r([3]), r([3])]);
    gradcheck((a, b) => where(a.gt(0), a, b), [tensor([0.5, -0.5, 1.5], [3], "float64"), r([3])]);
    gradcheck((a) => a.indexSelect(0, tensor([2, 0], [2], "int64")).gather(1, tensor([1, 0, 2, 2], [2, 2], "int64")), [r([3, 3])]);
  });
  it("matmul and linear", () => {
    gradcheck((a, b) => a.matmul(b), [r([2, 3]), r([3, 4])]);
    gradcheck((x, w, b) => F.linear(x, w, b), [r([2, 3]), r([4, 3]), r([4])]);
  });
  it("conv2d and conv_transpose2d", () => {
    gradcheck((x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), [r([1, 2, 5, 5]), r([3, 2, 3, 3]), r([3])]);
    gradcheck((x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }), [r([1, 2, 3, 3]), r([2, 3, 3, 3]), r([3])]);
  });
  it("batch norm (training statistics and affine)", () => {
    gradcheck((x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }), [r([3, 2, 2, 2]), r([2]), r([2])]);
  });
  it("pooling", () => {
    // Distinct values so that max pooling has a unique argmax in each window.
    const x = tensor(Float64Array.from({ length: 32 }, (_, i) => Math.sin(i * 1.7) * 3), [1, 2, 4, 4]);
    gradcheck((a) => F.maxPool2d(a, 2), [x]);
    gradcheck((a) => F.avgPool2d(a, 2, { stride: 1 }), [r([1, 2, 4, 4])]);
    gradcheck((a) => F.adaptiveAvgPool2d(a, 1), [r([2, 2, 3, 3])]);
  });
  it("interpolate (nearest and bilinear)", () => {
    gradcheck((a) => F.interpolate(a, { scaleFactor: 2, mode: "nearest" }), [r([1, 1, 2, 3])]);
    gradcheck((a) => F.interpolate(a, { size: [5, 4], mode: "bilinear" }), [r([1, 2, 3, 2])]);
  });
  it("softmax, log_softmax and losses", () => {
    const y = tensor([2, 0, 1], [3], "int64");
    gradcheck((a) => F.softmax(a, 1).add(F.logSoftmax(a, 0)), [r([3, 4])]);
    gradcheck((a) => F.crossEntropy(a, y), [r([3, 4])]);
    gradcheck((a) => F.crossEntropy(a, y, { reduction: "none", labelSmoothing: 0.1 }), [r([3, 4])]);
    gradcheck((a, b) => F.mseLoss(a, b), [r([2, 3]), r([2, 3])]);
    gradcheck((a) => F.nllLoss(F.logSoftmax(a, 1), y, "sum"), [r([3, 4])]);
  });
  it("dropout in eval mode is the identity", () => {
    gradcheck((a: Tensor) => F.dropout(a, 0.5, false), [r([4])]);
  });
});

describe("gradcheck itself", () => {
  it("fails on a function whose autograd gradient is wrong", async () => {
    const assert = (await import("node:assert/strict")).default;
    // detach() hides the dependency from autograd, so the analytic gradient is zero.
    assert.throws(() => gradcheck((a) => a.detach().mul(a), [r([3])]), /gradient of input 0/);
  });
});
