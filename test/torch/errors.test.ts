import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { F, opSchema, tensor, zeros, cat, randint, checkDevice, cudaAvailable } from "../../src/torch/index.js";
import { callRaw } from "../../src/torch/dispatch.js";

describe("bad input gives a JavaScript error naming the problem", () => {
  it("shape mismatch in broadcasting carries libtorch's message", () => {
    assert.throws(() => zeros([2, 3]).add(zeros([4])), /size of tensor a \(3\) must match the size of tensor b \(4\)/);
    assert.throws(() => zeros([2, 3]).matmul(zeros([2, 3])), /cannot be multiplied|mat1 and mat2 shapes/);
    assert.throws(() => cat([zeros([2, 3]), zeros([2, 4])], 0), /Sizes of tensors must match/);
    assert.throws(() => zeros([6]).reshape([4, 4]), /shape '\[4, 4\]' is invalid for input of size 6/);
  });
  it("wrong dtype", () => {
    assert.throws(() => F.crossEntropy(zeros([2, 3]), zeros([2])), /target must be int64/);
    assert.throws(() => zeros([2]).to("float16" as never), /to: expected a dtype .* or a device .*got "float16"/);
    assert.throws(() => F.conv2d(zeros([1, 1, 3, 3]), zeros([1, 1, 3, 3], { dtype: "float64" })), /type|dtype|same/i);
  });
  it("data that does not fit the shape", () => {
    assert.throws(() => tensor([1, 2, 3], [2, 2]), /shape \[2,2\] holds 4 elements but the data has 3/);
    assert.throws(() => tensor([1], [-1]), /non-negative integers/);
  });
  it("a disposed tensor", () => {
    const t = zeros([2]);
    t.dispose();
    t.dispose();
    assert.throws(() => t.add(1), /tensor has been disposed/);
    assert.throws(() => t.shape, /tensor has been disposed/);
  });
  it("an unknown op and a bad argument type", () => {
    assert.throws(() => opSchema("aten::no_such_op"), /unknown op 'aten::no_such_op'/);
    assert.throws(() => callRaw("aten::add.Tensor", [zeros([1]), "x"]), /aten::add\.Tensor: argument 'other' expected a tensor/);
    assert.throws(() => callRaw("aten::conv2d", []), /aten::conv2d: missing argument 'input'/);
    assert.throws(() => callRaw("aten::relu", [zeros([1]), 1, 2]), /expected at most 1 arguments, got 3/);
    assert.throws(() => callRaw("aten::sum.dim_IntList", [zeros([2]), [0.5]]), /argument 'dim' expected an integer/);
  });
  it("bad ranges", () => {
    assert.throws(() => randint(5, 5, [2]), /high \(5\) must be greater than low \(5\)/);
    assert.throws(() => zeros([2, 2]).item(), /one element/);
    assert.throws(() => zeros([2]).size(3), /dim 3 out of range/);
  });
  it("a CUDA device without CUDA is a clear error", (t) => {
    if (cudaAvailable()) return t.skip("this machine has CUDA");
    assert.throws(() => checkDevice("cuda"), /no CUDA support or sees no GPU/);
    assert.throws(() => zeros([1], { device: "cuda" }), /CUDA/);
    assert.throws(() => checkDevice("tpu"), /expected "cpu", "cuda" or "cuda:N"/);
  });
});
