/** libtorch's deterministic mode and the thread count: set, read back from libtorch, and what they buy. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { deterministicState, F, Generator, getNumThreads, isDeterministic, nn, optim, rand, randint, setDeterministic, setNumThreads, tensor, tidy, zeros } from "../../src/torch/index.js";
import { op } from "../../src/torch/tensor.js";

const OFF = { algorithms: false, warnOnly: false, cudnnDeterministic: false, cudnnBenchmark: false };
const ON = { algorithms: true, warnOnly: false, cudnnDeterministic: true, cudnnBenchmark: false };

/** Restores libtorch's flags and thread count after a test that changes them. */
function restoring(fn: () => void): void {
  const threads = getNumThreads();
  const was = isDeterministic();
  try {
    fn();
  } finally {
    setDeterministic(was);
    setNumThreads(threads);
  }
}

test("setDeterministic turns libtorch's flags on and off, as libtorch reports them", () => {
  restoring(() => {
    setDeterministic(true);
    assert.deepEqual(deterministicState(), ON);
    assert.equal(isDeterministic(), true);
    setDeterministic(false);
    assert.deepEqual(deterministicState(), OFF);
    assert.throws(() => setDeterministic(1 as unknown as boolean), /setDeterministic: expected a boolean, got number/);
  });
});

test("under deterministic mode an op without a deterministic kernel fails, naming itself, instead of running", () => {
  restoring(() => {
    tidy(() => {
      const index = tensor(new BigInt64Array([0n, 1n]), [2], "int64");
      // put_ without accumulation has no deterministic CPU kernel (PyTorch's documented list).
      const put = () => op("aten::put", [zeros([4]), index, tensor([1, 2]), false]);
      assert.deepEqual(put().toArray(), [1, 2, 0, 0]);
      setDeterministic(true);
      assert.throws(put, /^Error: put_ does not have a deterministic implementation, but you set 'torch\.use_deterministic_algorithms\(True\)'/);
      // Ops that have one run as before.
      assert.deepEqual(op("aten::put", [zeros([4]), index, tensor([1, 2]), true]).toArray(), [1, 2, 0, 0]);
    });
  });
});

/** A few SGD steps of a small CNN from fixed generators; its weights, flattened. */
function trainedWeights(): number[] {
  return tidy(() => {
    const draws = new Generator(3);
    const model = nn.init.withInitGenerator(draws, () => new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(),
      new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 7 * 7, 5)));
    const x = rand([32, 1, 14, 14], { generator: draws });
    const y = randint(0, 5, [32], { generator: draws });
    draws.dispose();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    for (let i = 0; i < 4; i++) {
      tidy(() => {
        opt.zeroGrad();
        F.crossEntropy(model.forward(x), y).backward();
        opt.step();
      });
    }
    const weights = model.parameters().flatMap((p) => p.toArray() as number[]);
    opt.dispose();
    model.dispose();
    return weights;
  });
}

test("under deterministic mode, the same thread count gives bit-identical weights; another thread count rounds CPU reductions differently", () => {
  restoring(() => {
    setDeterministic(true);
    setNumThreads(1);
    assert.equal(getNumThreads(), 1);
    const one = trainedWeights();
    assert.deepEqual(trainedWeights(), one, "same threads, same bits");
    setNumThreads(2);
    assert.equal(getNumThreads(), 2);
    const two = trainedWeights();
    assert.deepEqual(trainedWeights(), two, "same threads, same bits");
    // Whole-tensor sums and convolution weight gradients split their work by thread: the weights
    // agree to float rounding, not bit for bit. That is why --deterministic fixes the thread count.
    const worst = Math.max(...one.map((v, i) => Math.abs(v - two[i])));
    assert.ok(worst < 1e-5, `1 vs 2 threads differ by ${worst}`);
    assert.ok(one.some((v, i) => v !== two[i]), "1 and 2 threads gave identical bits: libtorch's CPU kernels no longer depend on the thread count");
  });
});
