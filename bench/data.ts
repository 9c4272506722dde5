/**
 * npm run bench:data — how fast the data layer feeds training.
 *
 * 1. Seconds to read Fashion-MNIST's 60,000 training images (Debian's idx .gz files) into one
 *    float32 [60000, 1, 28, 28] tensor in [0, 1].
 * 2. A generated 50,000-image CIFAR-10 binary file in a temp dir: seconds to read it, then the
 *    images/s of one epoch of the augmented loader (batch 32, 4-pixel padded crop + flip), built
 *    in the calling thread, in one worker, and in one worker with tensors made from each batch.
 * 3. Prefetch: a consumer that blocks synchronously (as a training step does) for STEP_MS per
 *    batch; how long it then waits for each next batch (0 means the worker kept ahead).
 *
 * The goal: at least 20x what an ID training step consumes. `npm run bench:engine` measures that
 * step at about 0.37 s per batch of 32 on 2 cores (~86 img/s), so the bar is 20 x 86 = 1,730 img/s. Last line: one JSON object with the numbers.
 */
import { randomFillSync } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CIFAR_AUGMENTATION } from "../src/data/augment.js";
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, idxFiles } from "../src/data/embedded.js";
import { readCifarFiles } from "../src/data/formats/cifar.js";
import { readIdxImageSet } from "../src/data/formats/idx.js";
import { BatchLoader } from "../src/data/loader.js";

const CIFAR_IMAGES = 50_000;
const BATCH = 32;
const STEP_MS = Number(process.env.BENCH_STEP_MS ?? 20);
const STEP_BATCHES = 100;
const TARGET = 1730;

const seconds = (t0: number): number => (performance.now() - t0) / 1000;
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

async function fashionToTensor(): Promise<number | null> {
  if (!existsSync(DEBIAN_FASHION_MNIST_DIR)) {
    console.log(`Fashion-MNIST: ${DEBIAN_FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist); skipped`);
    return null;
  }
  const { tensor } = await import("../src/torch/index.js");
  const t0 = performance.now();
  const set = await readIdxImageSet(...idxFiles(DEBIAN_FASHION_MNIST_DIR).train, FASHION_MNIST_CLASSES);
  const floats = new Float32Array(set.images.length);
  for (let i = 0; i < floats.length; i++) floats[i] = set.images[i] / 255;
  const x = tensor(floats, set.shape, "float32");
  const s = seconds(t0);
  x.dispose();
  return s;
}

/** One epoch; returns images/s. `toTensor` also copies each batch into engine tensors. */
async function epochRate(loader: BatchLoader, toTensor: boolean): Promise<number> {
  const { toTensorBatch } = toTensor ? await import("../src/data/tensors.js") : { toTensorBatch: undefined };
  const t0 = performance.now();
  let n = 0;
  for await (const batch of loader.epoch(0)) {
    if (toTensorBatch) {
      const { x, y } = toTensorBatch(batch);
      x.dispose();
      y.dispose();
    }
    n += batch.labels.length;
  }
  return n / seconds(t0);
}

/** Mean ms spent waiting for each next batch while the consumer blocks STEP_MS per batch. */
async function prefetchWait(loader: BatchLoader): Promise<number> {
  let waited = 0;
  let count = 0;
  let t = performance.now();
  for await (const batch of loader.epoch(1)) {
    if (count > 0) waited += performance.now() - t; // the first batch cannot have been prefetched
    const until = performance.now() + STEP_MS;
    while (performance.now() < until); // a synchronous "training step"
    t = performance.now();
    if (++count > STEP_BATCHES || batch.index < 0) break;
  }
  return waited / (count - 1);
}

const fashionS = await fashionToTensor();
const dir = mkdtempSync(join(tmpdir(), "idfr-bench-data-"));
try {
  const file = join(dir, "data_batch_all.bin");
  const records = Buffer.alloc(CIFAR_IMAGES * 3073);
  randomFillSync(records);
  for (let i = 0; i < CIFAR_IMAGES; i++) records[i * 3073] %= 10;
  writeFileSync(file, records);
  let t0 = performance.now();
  const set = await readCifarFiles([file], { variant: "cifar10", classes: Array.from({ length: 10 }, String) });
  const readS = seconds(t0);

  const options = { batchSize: BATCH, seed: 0, augmentation: CIFAR_AUGMENTATION };
  const inThread = await epochRate(new BatchLoader(set, { ...options, workers: 0 }), false);
  const worker = new BatchLoader(set, { ...options, workers: 1 });
  for await (const _ of worker.epoch(9)) break; // start the worker thread before timing
  const viaWorker = await epochRate(worker, false);
  let withTensors: number | null = null;
  try {
    withTensors = await epochRate(worker, true);
  } catch (err) {
    console.log(`tensor conversion skipped: the engine did not load (${(err as Error).message.split("\n")[0]})`);
  }
  const builder = new BatchLoader(set, { ...options, workers: 0 });
  const order = builder.order(2);
  t0 = performance.now();
  for (let b = 0; b < 100; b++) builder.batch(2, b, order);
  const buildMs = (performance.now() - t0) / 100;
  const waitMs = await prefetchWait(worker);
  await worker.close();

  const rows: [string, string][] = [
    ["Fashion-MNIST train (60,000) -> float32 tensor", fashionS === null ? "skipped" : `${fashionS.toFixed(2)} s`],
    [`read generated CIFAR-10 file (${CIFAR_IMAGES.toLocaleString("en-US")} images)`, `${readS.toFixed(2)} s`],
    [`augmented loader, batch ${BATCH}, calling thread`, `${Math.round(inThread).toLocaleString("en-US")} img/s`],
    [`augmented loader, batch ${BATCH}, 1 worker`, `${Math.round(viaWorker).toLocaleString("en-US")} img/s`],
    [`augmented loader, batch ${BATCH}, 1 worker, + tensors`, withTensors === null ? "skipped" : `${Math.round(withTensors).toLocaleString("en-US")} img/s`],
    [`wait per batch behind a ${STEP_MS} ms step (build: ${buildMs.toFixed(2)} ms)`, `${waitMs.toFixed(3)} ms`],
    ["goal (20x an ID step's ~86 img/s)", `>= ${TARGET} img/s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  const slowest = Math.min(inThread, viaWorker, withTensors ?? Infinity);
  console.log(JSON.stringify({
    fashion_mnist_train_to_tensor_s: fashionS === null ? null : round(fashionS),
    cifar_read_50k_s: round(readS),
    cifar_loader_img_per_s_in_thread: Math.round(inThread),
    cifar_loader_img_per_s_worker: Math.round(viaWorker),
    cifar_loader_img_per_s_worker_tensors: withTensors === null ? null : Math.round(withTensors),
    prefetch_wait_ms_per_batch: round(waitMs),
    batch_build_ms: round(buildMs),
    target_img_per_s: TARGET,
    meets_target: slowest >= TARGET,
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
