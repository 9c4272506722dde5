import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { F, arange, cat, full, ones, stack, tensor, where, zeros, type DType } from "../../src/torch/index.js";
import { assertClose, values } from "../helpers.js";

describe("tensor creation and read-back", () => {
  it("round-trips every dtype through typed arrays", () => {
    const cases: [DType, ArrayLike<number> | BigInt64Array][] = [
      ["float32", new Float32Array([1.5, -2, 3])],
      ["float64", new Float64Array([1e-300, 2, -3.25])],
      ["int64", new BigInt64Array([1n, -(2n ** 40n), 3n])],
      ["int32", new Int32Array([7, -8, 9])],
      ["uint8", new Uint8Array([0, 128, 255])],
      ["bool", new Uint8Array([1, 0, 1])],
    ];
    for (const [dtype, data] of cases) {
      const t = tensor(data as never, [3], dtype);
      assert.equal(t.dtype, dtype);
      assert.deepEqual(Array.from(t.toTypedArray() as never), Array.from(data as never));
    }
  });
  it("infers dtype from the array and reports shape", () => {
    const t = tensor(new Int32Array(6), [2, 3]);
    assert.equal(t.dtype, "int32");
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.numel, 6);
    assert.equal(t.ndim, 2);
  });
  it("factories", () => {
    assert.deepEqual(values(zeros([2])), [0, 0]);
    assert.deepEqual(values(ones([2], { dtype: "int64" })), [1, 1]);
    assert.deepEqual(values(full([3], 2.5)), [2.5, 2.5, 2.5]);
    assert.deepEqual(values(arange(1, 7, 2)), [1, 3, 5]);
    assert.equal(arange(3).dtype, "int64");
  });
});

describe("arithmetic and broadcasting", () => {
  const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  const row = tensor([10, 20, 30], [3]);
  it("broadcasts a row over a matrix", () => {
    assert.deepEqual(values(a.add(row)), [11, 22, 33, 14, 25, 36]);
    assert.deepEqual(values(a.sub(row, 0.5)), [-4, -8, -12, -1, -5, -9]);
    assert.deepEqual(values(a.mul(row)), [10, 40, 90, 40, 100, 180]);
    assert.deepEqual(values(row.div(a)), [10, 10, 10, 2.5, 4, 5]);
  });
  it("scalars, pow, rsub", () => {
    assert.deepEqual(values(a.mul(2).add(1)), [3, 5, 7, 9, 11, 13]);
    assert.deepEqual(values(a.pow(2)), [1, 4, 9, 16, 25, 36]);
    assert.deepEqual(values(a.rsub(1)), [0, -1, -2, -3, -4, -5]);
  });
  it("integer tensors stay integer with integer scalars", () => {
    assert.equal(tensor([1, 2], [2], "int64").add(1).dtype, "int64");
  });
  it("elementwise functions", () => {
    const x = tensor([-4, -0.5, 0, 0.25, 9]);
    assert.deepEqual(values(x.abs()), [4, 0.5, 0, 0.25, 9]);
    assert.deepEqual(values(x.sign()), [-1, -1, 0, 1, 1]);
    assert.deepEqual(values(x.clamp(-1, 1)), [-1, -0.5, 0, 0.25, 1]);
    assert.deepEqual(values(x.clamp(0)), [0, 0, 0, 0.25, 9]);
    assertClose(values(tensor([1, 4, 9]).sqrt()), [1, 2, 3]);
    assertClose(values(tensor([0, 1]).exp()), [1, Math.E]);
    assertClose(values(tensor([1, Math.E]).log()), [0, 1]);
    assertClose(values(F.sigmoid(tensor([0]))), [0.5]);
    assertClose(values(F.leakyRelu(tensor([-2, 3]), 0.1)), [-0.2, 3]);
  });
  it("clamps to tensor bounds (the projection every l_inf attack uses)", () => {
    const x = tensor([0.5, 0.9, 0.1]);
    const lo = tensor([0.45, 0.45, 0.45]);
    const hi = tensor([0.55, 0.55, 0.55]);
    assertClose(values(x.clamp(lo, hi)), [0.5, 0.55, 0.45]);
  });
  it("in-place ops change the tensor and return it", () => {
    const t = tensor([1, 2, 3]);
    assert.equal(t.add_(1), t);
    t.mul_(2).addcmul_(tensor([1, 1, 1]), tensor([1, 2, 3]), 0.5).addcdiv_(tensor([2, 2, 2]), tensor([2, 4, 8]));
    assertClose(values(t), [4 + 0.5 + 1, 6 + 1 + 0.5, 8 + 1.5 + 0.25]);
    t.zero_();
    assert.deepEqual(values(t), [0, 0, 0]);
  });
});

describe("reductions, comparisons, where", () => {
  const a = tensor([3, 1, 2, 9, 7, 8], [2, 3]);
  it("sum, mean, max, min, argmax", () => {
    assert.equal(a.sum().item(), 30);
    assert.deepEqual(values(a.sum(1)), [6, 24]);
    assert.deepEqual(values(a.mean(0)), [6, 4, 5]);
    assert.deepEqual(a.sum(1, true).shape, [2, 1]);
    assert.equal(a.max().item(), 9);
    assert.deepEqual(values(a.max(1)), [3, 9]);
    assert.deepEqual(values(a.min(0)), [3, 1, 2]);
    assert.deepEqual(values(a.argmax(1)), [0, 0]);
    assert.equal(a.argmax().item(), 3);
    const { values: v, indices } = a.maxDim(0);
    assert.deepEqual(values(v), [9, 7, 8]);
    assert.deepEqual(values(indices), [1, 1, 1]);
  });
  it("sort and topk", () => {
    const { values: v, indices } = a.sort(1, true);
    assert.deepEqual(values(v), [3, 2, 1, 9, 8, 7]);
    assert.deepEqual(values(indices), [0, 2, 1, 0, 2, 1]);
    assert.deepEqual(values(a.topk(2, 1).values), [3, 2, 9, 8]);
  });
  it("comparisons give bools; where selects", () => {
    const gt = a.gt(2);
    assert.equal(gt.dtype, "bool");
    assert.deepEqual(values(gt), [1, 0, 0, 1, 1, 1]);
    assert.deepEqual(values(a.eq(tensor([3, 0, 2], [3]))), [1, 0, 1, 0, 0, 0]);
    assert.deepEqual(values(where(gt, a, 0)), [3, 0, 0, 9, 7, 8]);
    assert.equal(a.lt(100).all(), true);
    assert.equal(a.gt(8).any(), true);
  });
  it("per-sample norms", () => {
    const x = tensor([3, -4, 0, 0, 1, -2, 2, 0], [2, 2, 2]);
    assertClose(values(F.l2PerSample(x)), [5, 3]);
    assertClose(values(F.linfPerSample(x)), [4, 2]);
  });
});

describe("shape and indexing", () => {
  const a = arange(0, 12).reshape([3, 4]);
  it("reshape, view, permute, transpose, squeeze", () => {
    assert.deepEqual(a.view([2, 6]).shape, [2, 6]);
    assert.deepEqual(values(a.permute([1, 0]).contiguous().slice(0, 0, 1)), [0, 4, 8]);
    assert.deepEqual(values(a.transpose(0, 1).select(0, 1)), [1, 5, 9]);
    assert.deepEqual(a.unsqueeze(0).shape, [1, 3, 4]);
    assert.deepEqual(a.unsqueeze(0).squeeze(0).shape, [3, 4]);
    assert.deepEqual(a.flatten().shape, [12]);
  });
  it("slice with step and negative bounds, select, narrow, index", () => {
    assert.deepEqual(values(a.slice(1, 0, 4, 2)), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(values(a.slice(0, -1)), [8, 9, 10, 11]);
    assert.deepEqual(values(a.narrow(1, 1, 2).select(0, 2)), [9, 10]);
    assert.deepEqual(values(a.index([tensor([2, 0], [2], "int64"), tensor([1, 3], [2], "int64")])), [9, 3]);
    assert.deepEqual(values(a.index([a.select(1, 0).gt(3)])), [4, 5, 6, 7, 8, 9, 10, 11]);
  });
  it("cat and stack", () => {
    const x = tensor([1, 2], [1, 2]);
    const y = tensor([3, 4], [1, 2]);
    assert.deepEqual(values(cat([x, y], 0)), [1, 2, 3, 4]);
    assert.deepEqual(cat([x, y], 1).shape, [1, 4]);
    assert.deepEqual(stack([x, y], 0).shape, [2, 1, 2]);
  });
});

describe("nn functions against hand-computed values", () => {
  it("conv2d: 3x3 ones kernel sums each neighbourhood", () => {
    const x = arange(1, 10, 1, { dtype: "float32" }).reshape([1, 1, 3, 3]);
    const w = ones([1, 1, 3, 3]);
    assert.deepEqual(values(F.conv2d(x, w)), [45]);
    assert.deepEqual(values(F.conv2d(x, w, tensor([1]), { padding: 1 })), [13, 22, 17, 28, 46, 34, 25, 40, 29]);
    assert.deepEqual(values(F.conv2d(x, w, null, { padding: 1, stride: 2 })), [12, 16, 24, 28]);
  });
  it("conv_transpose2d: stride 2 spreads each pixel over a 2x2 block", () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const out = F.convTranspose2d(x, ones([1, 1, 2, 2]), null, { stride: 2 });
    assert.deepEqual(values(out), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
  it("pooling", () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 1, 4, 4]);
    assert.deepEqual(values(F.maxPool2d(x, 2)), [6, 8, 14, 16]);
    assert.deepEqual(values(F.avgPool2d(x, 2)), [3.5, 5.5, 11.5, 13.5]);
    assert.deepEqual(values(F.adaptiveAvgPool2d(x, 1)), [8.5]);
  });
  it("interpolate nearest and bilinear", () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    assert.deepEqual(values(F.interpolate(x, { scaleFactor: 2 })), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    // align_corners=true on 2->3 puts the middle sample exactly halfway.
    assertClose(values(F.interpolate(x, { size: [3, 3], mode: "bilinear", alignCorners: true })), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  });
  it("batch norm in eval mode uses running statistics", () => {
    const x = tensor([1, 2, 3, 4], [1, 2, 1, 2]);
    const out = F.batchNorm(x, tensor([1, 3]), tensor([4, 1]), { weight: tensor([2, 1]), bias: tensor([0, 10]), eps: 0 });
    assertClose(values(out), [0, 1, 10, 11]);
  });
  it("linear, matmul", () => {
    const x = tensor([1, 2], [1, 2]);
    assert.deepEqual(values(F.linear(x, tensor([1, 0, 1, 1, 2, -1], [3, 2]), tensor([0, 1, 2]))), [1, 4, 2]);
    assert.deepEqual(values(x.matmul(tensor([1, 2, 3, 4], [2, 2]))), [7, 10]);
  });
  it("softmax, log_softmax, cross entropy, mse", () => {
    const logits = tensor([0, Math.log(3)], [1, 2]);
    assertClose(values(F.softmax(logits, 1)), [0.25, 0.75]);
    assertClose(values(F.logSoftmax(logits, 1)), [Math.log(0.25), Math.log(0.75)]);
    assertClose([F.crossEntropy(logits, tensor([0], [1], "int64")).item()], [-Math.log(0.25)]);
    assertClose([F.mseLoss(tensor([1, 2]), tensor([2, 4])).item()], [2.5]);
  });
  it("dropout zeroes about p and rescales the rest", () => {
    const out = F.dropout(ones([10000]), 0.25, true);
    const kept = values(out).filter((v) => v !== 0);
    assert.ok(Math.abs(kept.length / 10000 - 0.75) < 0.03, `kept fraction ${kept.length / 10000}`);
    assertClose([kept[0]], [1 / 0.75]);
  });
});
