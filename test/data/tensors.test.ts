import assert from "node:assert/strict";
import { test } from "node:test";
import { BatchLoader } from "../../src/data/loader.js";
import { patternImages } from "./fixtures/write.js";

// The only data test that needs the engine (the native addon).
test("loader batches become float32 NCHW and int64 label tensors", async () => {
  const { tensorBatches } = await import("../../src/data/tensors.js");
  const { memory } = await import("../../src/torch/index.js");
  const n = 10;
  const images = patternImages(n, 3, 4, 4);
  const set = { images, labels: Uint8Array.from({ length: n }, (_, i) => (i * 3) % 7), shape: [n, 3, 4, 4] as [number, number, number, number], classes: Array.from({ length: 7 }, String) };
  const loader = new BatchLoader(set, { batchSize: 4, seed: 2 });
  const before = memory().numTensors;
  try {
    let seen = 0;
    for await (const { x, y, indices } of tensorBatches(loader, 0)) {
      assert.deepEqual(x.shape, [indices.length, 3, 4, 4]);
      assert.equal(x.dtype, "float32");
      assert.equal(y.dtype, "int64");
      assert.deepEqual(y.shape, [indices.length]);
      const xs = x.toTypedArray() as Float32Array;
      const ys = y.toTypedArray() as BigInt64Array;
      indices.forEach((i, k) => {
        assert.equal(ys[k], BigInt(set.labels[i]));
        for (let p = 0; p < 48; p++) assert.equal(xs[k * 48 + p], Math.fround(images[i * 48 + p] / 255));
      });
      seen += indices.length;
      x.dispose();
      y.dispose();
    }
    assert.equal(seen, n);
    assert.equal(memory().numTensors, before);
  } finally {
    await loader.close();
  }
});
