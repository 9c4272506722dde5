/** Feature Squeezing's squeezers: the bit-depth grid, the median window convention, the default chain. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createBaseline, defaultSqueezers, FeatureSqueezing, medianFilter, nonLocalMeans, reduceBitDepth, squeezersFor } from "../../src/defenses/baselines/index.js";
import { FASHION_MNIST_SQUEEZERS } from "../../src/defenses/baselines/feature-squeezing.js";
import { createClassifier } from "../../src/models/registry.js";
import { manualSeed, rand, setNumThreads, tensor, tidy } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";

setNumThreads(1);

test("bit-depth reduction lands exactly on the grid k/(2^b − 1), at the nearest level", () => {
  manualSeed(1);
  tidy(() => {
    const x = rand([2, 3, 8, 8]);
    const input = x.toArray();
    for (const bits of [1, 3, 5, 8]) {
      const levels = 2 ** bits - 1;
      const out = reduceBitDepth(x, bits).toArray();
      const grid = new Set(Array.from({ length: levels + 1 }, (_, k) => Math.fround(k / levels)));
      out.forEach((v, i) => {
        assert.ok(grid.has(v), `${bits} bits: ${v} is not on the grid`);
        // The nearest level: never more than half a step away from the input.
        assert.ok(Math.abs(v - input[i]) <= 0.5 / levels + 1e-6, `${bits} bits: ${input[i]} -> ${v}`);
      });
    }
    // Half-way values round to even, as numpy's rint does: 0.5 at 1 bit -> 0, 1/6 at 2 bits (level 0.5) -> 0.
    assert.deepEqual(reduceBitDepth(tensor([0.5, 0.49, 0.51, 1], [1, 1, 2, 2]), 1).toArray(), [0, 0, 1, 1]);
  });
});

test("2x2 median takes the window {i−1, i} × {j−1, j} with reflected borders and the upper middle value", () => {
  tidy(() => {
    const x = tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3], [1, 1, 4, 4]);
    // By hand: out[1][1] = median{3, 1, 5, 9} = sorted 1 3 5 9, rank 2 -> 5; out[0][0] reflects the
    // corner onto itself: {3, 3, 3, 3} -> 3; out[2][3] = {2, 6, 5, 8} -> 2 5 6 8 -> 6.
    // The whole result equals scipy.ndimage.median_filter(x, size=2, mode="reflect").
    assert.deepEqual(medianFilter(x, 2).toArray(), [3, 3, 4, 4, 5, 5, 4, 4, 5, 5, 5, 6, 9, 7, 7, 8]);
    // 3x3 (scipy, size=3): out[1][1] = median{3,1,4,5,9,2,5,3,5} = 4.
    assert.deepEqual(medianFilter(x, 3).toArray(), [3, 3, 2, 2, 5, 4, 4, 5, 5, 5, 6, 6, 7, 7, 7, 5]);
    // Channels and images are filtered independently.
    const two = tensor([...x.toArray(), ...x.toArray().map((v) => 10 - v)], [2, 1, 4, 4]);
    assert.deepEqual(medianFilter(two, 2).toArray().slice(0, 16), medianFilter(x, 2).toArray());
  });
});

test("the default chain is 5-bit depth then 2x2 median for colour, 1-bit for grey, and purify applies it", () => {
  assert.deepEqual(defaultSqueezers(3), [{ kind: "bit-depth", bits: 5 }, { kind: "median", size: 2 }]);
  assert.deepEqual(defaultSqueezers(1), [{ kind: "bit-depth", bits: 1 }, { kind: "median", size: 2 }]);
  manualSeed(2);
  tidy(() => {
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 8, 8] }).eval();
    const fs = new FeatureSqueezing(target);
    assert.equal(fs.name, "feature-squeezing");
    assert.equal(fs.stochastic, false);
    const x = rand([2, 3, 8, 8]);
    assertClose(fs.purify(x).toArray(), medianFilter(reduceBitDepth(x, 5), 2).toArray(), 0, "purify");
    const median3 = new FeatureSqueezing(target, { squeezers: [{ kind: "median", size: 3 }] });
    assertClose(median3.purify(x).toArray(), medianFilter(x, 3).toArray(), 0, "median only");
    assert.throws(() => new FeatureSqueezing(target, { squeezers: [{ kind: "bit-depth", bits: 0 }] }), /bits: expected an integer in \[1, 16\], got 0/);
  });
});

test("per dataset, Xu et al.'s squeezers: MNIST 1-bit + 2x2 median, CIFAR-10 5-bit + 2x2 median + NLM 13-3-2, ImageNet 5-bit + 2x2 median + NLM 11-3-4", () => {
  const bit = (bits: number) => ({ kind: "bit-depth", bits });
  const median2 = { kind: "median", size: 2 };
  assert.deepEqual(squeezersFor("mnist", 1), [bit(1), median2]);
  assert.deepEqual(squeezersFor("cifar10", 3), [bit(5), median2, { kind: "nlm", search: 13, patch: 3, h: 2 }]);
  assert.deepEqual(squeezersFor("imagefolder", 3), [bit(5), median2, { kind: "nlm", search: 11, patch: 3, h: 4 }]);
  // Not in their paper: CIFAR-100 and SVHN take CIFAR-10's; Fashion-MNIST its measured chain, not MNIST's 1 bit.
  assert.deepEqual(squeezersFor("svhn", 3), squeezersFor("cifar10", 3));
  assert.deepEqual(squeezersFor("fashion-mnist", 1), [...FASHION_MNIST_SQUEEZERS]);
  assert.notDeepEqual(squeezersFor("fashion-mnist", 1), squeezersFor("mnist", 1));
  // Without a known dataset: the channel-based chain.
  assert.deepEqual(squeezersFor(undefined, 1), defaultSqueezers(1));
  assert.deepEqual(squeezersFor("my-data", 3), defaultSqueezers(3));
  // The registry passes the dataset through.
  manualSeed(2);
  const grey = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 8, 8] }).eval();
  assert.deepEqual((createBaseline("feature-squeezing", grey, { dataset: "mnist" }) as FeatureSqueezing).squeezers, [bit(1), median2]);
  assert.deepEqual((createBaseline("feature-squeezing", grey, { dataset: "fashion-mnist" }) as FeatureSqueezing).squeezers, [...FASHION_MNIST_SQUEEZERS]);
  assert.throws(() => new FeatureSqueezing(grey, { squeezers: [{ kind: "nlm", search: 11, patch: 3, h: -1 }] }), /nlm h: expected a number > 0, got -1/);
});

test("the CIFAR-10 chain purifies as bit depth, then median, then non-local means", () => {
  manualSeed(3);
  tidy(() => {
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 8, 8] }).eval();
    const fs = new FeatureSqueezing(target, { dataset: "cifar10" });
    const x = rand([2, 3, 8, 8]);
    assertClose(fs.purify(x).toArray(), nonLocalMeans(medianFilter(reduceBitDepth(x, 5), 2), { search: 13, patch: 3, h: 2 }).toArray(), 0, "purify");
  });
});
