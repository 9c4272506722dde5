import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  arange, cudaAvailable, empty, full, ones, rand, randint, randn, randperm, scalar, tensor, zeros,
} from "../../src/torch/index.js";

describe("tensor(): integer dtypes are range-checked", () => {
  it("a number that does not fit uint8 throws instead of wrapping", () => {
    assert.throws(() => tensor([300], [1], "uint8"), /value 300 at index 0 does not fit uint8 \(valid range: 0 to 255\)/);
    assert.throws(() => tensor([1, -1], [2], "uint8"), /value -1 at index 1 does not fit uint8/);
    assert.deepEqual(tensor([0, 255], [2], "uint8").toArray(), [0, 255]);
  });
  it("int32 and int64 ranges; int64 rejects numbers that are not safe integers", () => {
    assert.throws(() => tensor([2 ** 31], [1], "int32"), /value 2147483648 at index 0 does not fit int32 \(valid range: -2147483648 to 2147483647\)/);
    assert.deepEqual(tensor([-(2 ** 31), 2 ** 31 - 1], [2], "int32").toArray(), [-(2 ** 31), 2 ** 31 - 1]);
    assert.throws(() => tensor([2 ** 53 + 2], [1], "int64"), /value 9007199254740994 at index 0 does not fit int64 \(valid range: safe integers .*BigInt64Array/);
    assert.throws(() => scalar(Number.NaN, { dtype: "int64" }), /value NaN at index 0 does not fit int64/);
    assert.deepEqual(tensor([Number.MAX_SAFE_INTEGER], [1], "int64").toTypedArray(), BigInt64Array.of(BigInt(Number.MAX_SAFE_INTEGER)));
    const big = BigInt64Array.of(2n ** 62n);
    assert.deepEqual(tensor(big).toTypedArray(), big);
  });
  it("fractions truncate toward zero as in PyTorch; typed arrays converted to an integer dtype are checked", () => {
    assert.deepEqual(tensor([1.7, -1.7, 255.5], [3], "int32").toArray(), [1, -1, 255]);
    assert.throws(() => tensor(Float32Array.of(1, 256), [2], "uint8"), /value 256 at index 1 does not fit uint8/);
    assert.deepEqual(tensor(Float32Array.of(1, 255), [2], "uint8").toArray(), [1, 255]);
  });
});

describe("tensor(): typed arrays on a SharedArrayBuffer", () => {
  it("are copied like any other typed array", () => {
    const shared = new Float32Array(new SharedArrayBuffer(6 * 4));
    shared.set([1, 2, 3, 4, 5, 6]);
    assert.deepEqual(tensor(shared, [2, 3]).toArray(), [1, 2, 3, 4, 5, 6]);
  });
  it("respect the view's offset", () => {
    const bytes = new Uint8Array(new SharedArrayBuffer(8));
    bytes.set([9, 9, 1, 2, 3, 9, 9, 9]);
    const view = new Uint8Array(bytes.buffer, 2, 3);
    assert.deepEqual(tensor(view, [3], "float32").toArray(), [1, 2, 3]);
  });
});

describe("creation ops on a device libtorch lacks", () => {
  it("each fails with one sentence", (t) => {
    if (cudaAvailable()) return t.skip("this machine has CUDA");
    const device = { device: "cuda" };
    const creations: [string, () => unknown][] = [
      ["rand", () => rand([2], device)], ["randn", () => randn([2], device)], ["zeros", () => zeros([2], device)],
      ["ones", () => ones([2], device)], ["empty", () => empty([2], device)], ["full", () => full([2], 1, device)],
      ["randint", () => randint(0, 3, [2], device)], ["randperm", () => randperm(3, device)],
      ["arange", () => arange(3, undefined, 1, device)], ["tensor", () => tensor([1, 2], [2], device)],
    ];
    for (const [name, create] of creations) {
      assert.throws(create, (err: Error) => {
        assert.match(err.message, /^device "cuda": the linked libtorch has no CUDA support or sees no GPU; .*"cpu"$/, name);
        return true;
      });
    }
  });
});
