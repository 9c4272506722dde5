import assert from "node:assert/strict";
import { test } from "node:test";
import { CIFAR_AUGMENTATION } from "../../src/data/augment.js";
import { BatchLoader, type ArrayBatch } from "../../src/data/loader.js";
import type { ImageSet } from "../../src/data/types.js";
import { runScript } from "../core/child.js";
import { patternImages } from "./fixtures/write.js";

function makeSet(n: number, shared = true): ImageSet {
  const px = patternImages(n, 3, 8, 8);
  const images = shared ? new Uint8Array(new SharedArrayBuffer(px.length)) : new Uint8Array(px.length);
  images.set(px);
  return { images, labels: Uint8Array.from({ length: n }, (_, i) => i % 10), shape: [n, 3, 8, 8], classes: Array.from({ length: 10 }, String) };
}

async function collect(loader: BatchLoader, epoch: number): Promise<ArrayBatch[]> {
  const out: ArrayBatch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}

test("an epoch visits every image once; the last batch is short unless dropLast", async () => {
  const set = makeSet(23);
  const loader = new BatchLoader(set, { batchSize: 5, workers: 0 });
  const batches = await collect(loader, 0);
  assert.equal(loader.batchesPerEpoch, 5);
  assert.deepEqual(batches.map((b) => b.shape[0]), [5, 5, 5, 5, 3]);
  assert.deepEqual(batches.flatMap((b) => Array.from(b.indices)).sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  const dropped = new BatchLoader(set, { batchSize: 5, workers: 0, dropLast: true });
  assert.equal(dropped.batchesPerEpoch, 4);
  assert.deepEqual((await collect(dropped, 0)).map((b) => b.shape[0]), [5, 5, 5, 5]);
});

test("values are pixels / 255 in NCHW, labels follow their images", async () => {
  const set = makeSet(7);
  const loader = new BatchLoader(set, { batchSize: 4, workers: 0, seed: 9 });
  for (const b of await collect(loader, 2)) {
    assert.deepEqual(b.shape, [b.indices.length, 3, 8, 8]);
    b.indices.forEach((i, k) => {
      assert.equal(b.labels[k], set.labels[i]);
      for (let p = 0; p < 192; p++) assert.equal(b.images[k * 192 + p], Math.fround(set.images[i * 192 + p] / 255));
    });
  }
});

test("shuffling: same seed and epoch same order, a new order each epoch, file order without shuffle", () => {
  const set = makeSet(50);
  const a = new BatchLoader(set, { batchSize: 8, seed: 1 });
  const b = new BatchLoader(set, { batchSize: 8, seed: 1 });
  assert.deepEqual(a.order(3), b.order(3));
  assert.notDeepEqual(a.order(3), a.order(4));
  assert.notDeepEqual(a.order(3), new BatchLoader(set, { batchSize: 8, seed: 2 }).order(3));
  assert.deepEqual(Array.from(new BatchLoader(set, { batchSize: 8, shuffle: false }).order(3)), Array.from({ length: 50 }, (_, i) => i));
});

test("worker threads build exactly the batches the calling thread builds (augmented, 1 and 2 workers)", async () => {
  for (const [workers, shared] of [[1, true], [2, false]] as const) {
    const set = makeSet(37, shared);
    const options = { batchSize: 6, seed: 4, augmentation: CIFAR_AUGMENTATION };
    const inThread = await collect(new BatchLoader(set, { ...options, workers: 0 }), 1);
    const loader = new BatchLoader(set, { ...options, workers, prefetch: 3 });
    try {
      const viaWorkers = await collect(loader, 1);
      assert.equal(viaWorkers.length, inThread.length);
      viaWorkers.forEach((b, k) => {
        assert.deepEqual(b.indices, inThread[k].indices);
        assert.deepEqual(b.labels, inThread[k].labels);
        assert.deepEqual(b.images, inThread[k].images);
      });
      // A second epoch reuses the workers; an early break leaves no dangling work behind.
      for await (const b of loader.epoch(2)) {
        assert.equal(b.index, 0);
        break;
      }
      assert.equal((await collect(loader, 3)).length, 7);
    } finally {
      await loader.close();
    }
  }
});

test("close() right after an early break waits for the busy worker and lets the process go on", async () => {
  const set = makeSet(400);
  const loader = new BatchLoader(set, { batchSize: 4, workers: 1, prefetch: 4 });
  for await (const b of loader.epoch(0)) {
    assert.equal(b.index, 0);
    break; // batches 1..4 are still being built
  }
  await loader.close();
  // The loader starts new workers when used again.
  assert.equal((await collect(loader, 1)).length, 100);
  await loader.close();
});

test("augmentation changes images but keeps zeros where the crop left the image", async () => {
  const set = makeSet(10);
  const loader = new BatchLoader(set, { batchSize: 10, workers: 0, augmentation: CIFAR_AUGMENTATION, shuffle: false });
  const [batch] = await collect(loader, 0);
  const plain = (await collect(new BatchLoader(set, { batchSize: 10, workers: 0, shuffle: false }), 0))[0];
  assert.notDeepEqual(batch.images, plain.images);
  for (const v of batch.images) assert.ok(v >= 0 && v <= 1);
});

test("bad options are rejected", () => {
  const set = makeSet(3);
  assert.throws(() => new BatchLoader(set, { batchSize: 0 }), /batchSize: expected a positive integer, got 0/);
  assert.throws(() => new BatchLoader(set, { batchSize: 1, workers: -1 }), /workers: expected a non-negative integer/);
  assert.throws(() => new BatchLoader(set, { batchSize: 1, prefetch: 0 }), /prefetch: expected a positive integer/);
  assert.throws(() => new BatchLoader({ ...set, shape: [4, 3, 8, 8] }, { batchSize: 1 }), /do not match shape 4x3x8x8/);
  assert.throws(() => new BatchLoader(set, { batchSize: 1 }).batch(0, 3), /index 3 is outside \[0, 3\)/);
});

/** A script that iterates one epoch with more workers than batches, ending as `how` says, and never calls close(). */
function leaveEpochScript(how: "complete" | "break" | "throw"): string {
  const loaderUrl = new URL("../../src/data/loader.ts", import.meta.url).href;
  return `
    const { BatchLoader } = await import(${JSON.stringify(loaderUrl)});
    const n = 10;
    const images = new Uint8Array(new SharedArrayBuffer(n * 3 * 8 * 8)).fill(7);
    const set = { images, labels: new Uint8Array(n), shape: [n, 3, 8, 8], classes: ["a"] };
    // 2 batches for 3 workers: one worker never gets a request.
    const loader = new BatchLoader(set, { batchSize: 8, workers: 3 });
    let seen = 0;
    try {
      for await (const batch of loader.epoch(0)) {
        seen += 1;
        if (${JSON.stringify(how)} === "break") break;
        if (${JSON.stringify(how)} === "throw") throw new Error("stop");
      }
    } catch (err) {
      if (err.message !== "stop") throw err;
    }
    console.log("batches " + seen);
  `;
}

for (const [how, batches] of [["complete", 2], ["break", 1], ["throw", 1]] as const) {
  test(`a process whose epoch loop ends (${how}) exits by itself, with more workers than batches and no close()`, async () => {
    const r = await runScript(leaveEpochScript(how), 30_000);
    assert.equal(r.timedOut, false, `the process did not exit within 30 s (a loader worker kept it alive); stderr: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `batches ${batches}`);
  });
}

test("leaving an epoch early closes the workers; a finished epoch keeps them for the next", async () => {
  const loader = new BatchLoader(makeSet(40), { batchSize: 4, workers: 2 });
  const live = () => (loader as unknown as { workers?: unknown[] }).workers?.length ?? 0;
  await collect(loader, 0);
  assert.equal(live(), 2);
  for await (const b of loader.epoch(1)) {
    assert.equal(b.index, 0);
    break;
  }
  assert.equal(live(), 0);
  await assert.rejects(async () => {
    for await (const _ of loader.epoch(2)) throw new Error("step failed");
  }, /step failed/);
  assert.equal(live(), 0);
  assert.equal((await collect(loader, 3)).length, 10);
  await loader.close();
  assert.equal(live(), 0);
});
