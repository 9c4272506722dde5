import assert from "node:assert/strict";
import { truncateSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DataFormatError } from "../../src/data/errors.js";
import { readCifarFiles, readLabelNames } from "../../src/data/formats/cifar.js";
import { patternImages, tempDir, writeCifar, writeText } from "./fixtures/write.js";

const TEN = Array.from({ length: 10 }, (_, i) => `class${i}`);
const HUNDRED = Array.from({ length: 100 }, (_, i) => `fine${i}`);

test("CIFAR-10: several batch files concatenate in order, pixel by pixel", async (t) => {
  const dir = tempDir(t);
  const pixels = patternImages(5, 3, 32, 32);
  writeCifar(join(dir, "a.bin"), [[3], [9], [0]], pixels.subarray(0, 3 * 3072));
  writeCifar(join(dir, "b.bin"), [[5], [1]], pixels.subarray(3 * 3072));
  const set = await readCifarFiles([join(dir, "a.bin"), join(dir, "b.bin")], { variant: "cifar10", classes: TEN });
  assert.deepEqual(set.shape, [5, 3, 32, 32]);
  assert.deepEqual(Array.from(set.labels), [3, 9, 0, 5, 1]);
  assert.ok(Buffer.from(set.images).equals(Buffer.from(pixels)));
});

test("CIFAR-100: fine or coarse labels", async (t) => {
  const dir = tempDir(t);
  const pixels = patternImages(3, 3, 32, 32);
  writeCifar(join(dir, "train.bin"), [[19, 99], [0, 42], [7, 0]], pixels);
  const fine = await readCifarFiles([join(dir, "train.bin")], { variant: "cifar100", classes: HUNDRED });
  assert.deepEqual(Array.from(fine.labels), [99, 42, 0]);
  assert.ok(Buffer.from(fine.images).equals(Buffer.from(pixels)));
  const coarse = await readCifarFiles([join(dir, "train.bin")], { variant: "cifar100", classes: HUNDRED.slice(0, 20), label: "coarse" });
  assert.deepEqual(Array.from(coarse.labels), [19, 0, 7]);
});

test("a truncated file fails before anything is read, with the expected record size", async (t) => {
  const dir = tempDir(t);
  writeCifar(join(dir, "ok.bin"), [[1]], patternImages(1, 3, 32, 32));
  writeCifar(join(dir, "cut.bin"), [[1], [2]], patternImages(2, 3, 32, 32));
  truncateSync(join(dir, "cut.bin"), 3073 + 100);
  await assert.rejects(readCifarFiles([join(dir, "ok.bin"), join(dir, "cut.bin")], { variant: "cifar10", classes: TEN }), (e: unknown) => {
    assert.ok(e instanceof DataFormatError);
    assert.equal(e.file, join(dir, "cut.bin"));
    assert.match(e.message, /size 3173 bytes is not a positive multiple of the 3073-byte record \(1 label byte\(s\) \+ 3072 pixels\).*\(at byte offset 3073\)/);
    return true;
  });
  // A CIFAR-10 file read as CIFAR-100 has the wrong record size too.
  await assert.rejects(readCifarFiles([join(dir, "ok.bin")], { variant: "cifar100", classes: HUNDRED }), /multiple of the 3074-byte record/);
  await assert.rejects(readCifarFiles([join(dir, "none.bin")], { variant: "cifar10", classes: TEN }), /none\.bin: missing file; expected a CIFAR-10 binary file/);
});

test("labels out of range give the record and byte offset", async (t) => {
  const dir = tempDir(t);
  writeCifar(join(dir, "bad.bin"), [[1], [10]], patternImages(2, 3, 32, 32));
  await assert.rejects(readCifarFiles([join(dir, "bad.bin")], { variant: "cifar10", classes: TEN }), /bad\.bin: label 10 of record 1 is out of range; expected 0\.\.9 \(at byte offset 3073\)/);
  writeCifar(join(dir, "bad100.bin"), [[20, 1]], patternImages(1, 3, 32, 32));
  await assert.rejects(readCifarFiles([join(dir, "bad100.bin")], { variant: "cifar100", classes: HUNDRED }), /coarse label 20 of record 0 is out of range; expected 0\.\.19 \(at byte offset 0\)/);
});

test("class-name files: trailing blank lines ignored, wrong counts rejected", async (t) => {
  const dir = tempDir(t);
  const good = writeText(dir, "batches.meta.txt", TEN.join("\n") + "\n\n");
  assert.deepEqual(await readLabelNames(good, 10), TEN);
  const bad = writeText(dir, "short.txt", "a\nb\n");
  await assert.rejects(readLabelNames(bad, 10), /short\.txt: expected 10 non-empty class names, one per line, found 2 lines/);
});
