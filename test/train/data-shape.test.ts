import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { loadDataset } from "../../src/data/datasets.js";
import { patternImages, tempDir, writeIdx } from "../data/fixtures/write.js";

test("a dataset whose train and test files hold images of different sizes fails at load, naming both files and shapes", async (t) => {
  const root = tempDir(t);
  const labels = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 10);
  writeIdx(join(root, "train-images-idx3-ubyte"), [20, 28, 28], patternImages(20, 1, 28, 28));
  writeIdx(join(root, "train-labels-idx1-ubyte"), [20], labels(20));
  writeIdx(join(root, "t10k-images-idx3-ubyte"), [10, 32, 32], patternImages(10, 1, 32, 32));
  writeIdx(join(root, "t10k-labels-idx1-ubyte"), [10], labels(10));
  const expected = new RegExp(`${join(root, "train-images-idx3-ubyte")}: training images are 1x28x28 .* the test file ${join(root, "t10k-images-idx3-ubyte")} holds 1x32x32 images`);
  await assert.rejects(loadDataset("mnist", { root }), expected);
  await assert.rejects(loadDataset("fashion-mnist", { root }), expected);
});
