import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DataFormatError } from "../../src/data/errors.js";
import { parseIdx, readIdxFile, readIdxImageSet } from "../../src/data/formats/idx.js";
import { patternImages, tempDir, writeIdx } from "./fixtures/write.js";

const CLASSES = ["a", "b", "c"];

function fixture(dir: string, gzip: boolean): { images: string; labels: string; pixels: Uint8Array; labelValues: Uint8Array } {
  const pixels = patternImages(5, 1, 4, 3);
  const labelValues = Uint8Array.from([0, 2, 1, 1, 0]);
  const ext = gzip ? ".gz" : "";
  const images = join(dir, `train-images-idx3-ubyte${ext}`);
  const labels = join(dir, `train-labels-idx1-ubyte${ext}`);
  writeIdx(images, [5, 4, 3], pixels, gzip);
  writeIdx(labels, [5], labelValues, gzip);
  return { images, labels, pixels, labelValues };
}

for (const gzip of [false, true]) {
  test(`reads ${gzip ? "gzip" : "raw"} idx images and labels pixel by pixel`, async (t) => {
    const f = fixture(tempDir(t), gzip);
    const set = await readIdxImageSet(f.images, f.labels, CLASSES);
    assert.deepEqual(set.shape, [5, 1, 4, 3]);
    assert.deepEqual(Array.from(set.images), Array.from(f.pixels));
    assert.deepEqual(Array.from(set.labels), Array.from(f.labelValues));
    assert.deepEqual(set.classes, CLASSES);
    assert.ok(set.images.buffer instanceof SharedArrayBuffer);
  });
}

test("gzip is detected by magic bytes, not by the file name", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "labels.raw");
  writeIdx(file, [3], Uint8Array.from([1, 2, 3]), true);
  assert.deepEqual(Array.from((await readIdxFile(file)).data), [1, 2, 3]);
});

test("wrong magic number, truncation and trailing bytes name the file and the sizes", async (t) => {
  const dir = tempDir(t);
  const f = fixture(dir, false);
  const bytes = writeIdx(join(dir, "x"), [5, 4, 3], patternImages(5, 1, 4, 3));
  assert.throws(() => parseIdx(Uint8Array.from([0x12, 0x34, 0x08, 0x03, ...bytes.subarray(4)]), "bad.idx"), (e: unknown) => {
    assert.ok(e instanceof DataFormatError);
    assert.match(e.message, /^bad\.idx: not an idx file: magic number is 12 34 08 03, expected 00 00 08/);
    assert.equal(e.offset, 0);
    return true;
  });
  assert.throws(() => parseIdx(bytes.subarray(0, bytes.length - 1), "short.idx"), /^DataFormatError: short\.idx: truncated: dimensions 5x4x3 need 76 bytes \(after inflating\), found 75 \(at byte offset 75\)/);
  assert.throws(() => parseIdx(Buffer.concat([bytes, Buffer.from([0])]), "long.idx"), /long\.idx: trailing bytes after the data: dimensions 5x4x3 need 76 bytes/);
  assert.throws(() => parseIdx(bytes.subarray(0, 10), "head.idx"), /head\.idx: truncated idx header: expected 16 bytes for 3 dimensions, found 10/);
  const floats = Buffer.from(bytes);
  floats[2] = 0x0d;
  assert.throws(() => parseIdx(floats, "f.idx"), /f\.idx: idx element type float is not supported; expected ubyte/);
  // Truncated gzip stream.
  const gz = writeIdx(join(dir, "t.gz"), [5, 4, 3], patternImages(5, 1, 4, 3), true);
  writeFileSync(join(dir, "t.gz"), gz.subarray(0, gz.length - 10));
  await assert.rejects(readIdxFile(join(dir, "t.gz")), (e: unknown) => {
    assert.ok(e instanceof DataFormatError);
    assert.match(e.message, /t\.gz: corrupt or truncated gzip data .*expected a complete \.gz file/);
    return true;
  });
  await assert.rejects(readIdxFile(join(dir, "missing.gz")), /missing\.gz: missing file; expected an idx file/);
  assert.ok(f.images);
});

test("labels out of range and count mismatches are rejected with the offset", async (t) => {
  const dir = tempDir(t);
  const f = fixture(dir, false);
  writeIdx(f.labels, [5], Uint8Array.from([0, 1, 3, 1, 0]));
  await assert.rejects(readIdxImageSet(f.images, f.labels, CLASSES), (e: unknown) => {
    assert.ok(e instanceof DataFormatError);
    assert.equal(e.file, f.labels);
    assert.match(e.message, /label 3 of image 2 is out of range; expected 0\.\.2 \(at byte offset 10\)/);
    return true;
  });
  writeIdx(f.labels, [4], Uint8Array.from([0, 1, 2, 1]));
  await assert.rejects(readIdxImageSet(f.images, f.labels, CLASSES), /holds 4 labels, expected 5/);
  await assert.rejects(readIdxImageSet(f.labels, f.labels, CLASSES), /expected a 3-dimensional idx array/);
});
