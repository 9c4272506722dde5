import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { DataFormatError } from "../../src/data/errors.js";
import { readMat } from "../../src/data/formats/mat-v5.js";
import { readSvhnMat } from "../../src/data/formats/svhn.js";
import { patternImages, svhnVars, tempDir, writeMat } from "./fixtures/write.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

for (const compressed of [true, false]) {
  for (const bigEndian of [false, true]) {
    test(`SVHN .mat (${compressed ? "zlib-compressed" : "plain"}, ${bigEndian ? "big" : "little"}-endian): X 32x32x3xN becomes NCHW pixel by pixel`, async (t) => {
      const dir = tempDir(t);
      const n = 4;
      const pixels = patternImages(n, 3, 32, 32);
      writeMat(join(dir, "train_32x32.mat"), svhnVars(pixels, n, 32, 32, [10, 1, 5, 9]), { compressed, bigEndian });
      const set = await readSvhnMat(join(dir, "train_32x32.mat"));
      assert.deepEqual(set.shape, [n, 3, 32, 32]);
      assert.deepEqual(Array.from(set.labels), [0, 1, 5, 9]);
      assert.ok(Buffer.from(set.images).equals(Buffer.from(pixels)));
    });
  }
}

test("files written by scipy.io.savemat (compressed and plain) read as expected", async () => {
  // X[i, j, c, n] = (7i + 3j + 50c + 11n) mod 256, y = [1, 10, 5]; written once with scipy 1.17.
  for (const name of ["svhn-scipy-compressed.mat", "svhn-scipy-plain.mat"]) {
    const set = await readSvhnMat(join(fixtures, name));
    assert.deepEqual(set.shape, [3, 3, 32, 32]);
    assert.deepEqual(Array.from(set.labels), [1, 0, 5]);
    for (let n = 0; n < 3; n++) for (let c = 0; c < 3; c++) for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) {
      assert.equal(set.images[n * 3072 + c * 1024 + i * 32 + j], (i * 7 + j * 3 + c * 50 + n * 11) % 256);
    }
  }
});

test("readMat returns names, classes, storage types and dimensions; small elements and skipping", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "vars.mat");
  writeMat(file, [
    { name: "abc", classCode: 6, storage: 2, dims: [1, 3], values: Uint8Array.from([7, 8, 9]) }, // double stored as uint8, small element
    { name: "longer_name", classCode: 6, storage: 9, dims: [2, 1], values: Float64Array.from([0.5, -2]) },
  ], { compressed: true });
  const all = await readMat(file);
  assert.deepEqual([...all.keys()], ["abc", "longer_name"]);
  const abc = all.get("abc")!;
  assert.equal(abc.className, "double");
  assert.equal(abc.storage, "uint8");
  assert.deepEqual(abc.dims, [1, 3]);
  assert.deepEqual(Array.from(abc.data as Uint8Array), [7, 8, 9]);
  assert.deepEqual(Array.from(all.get("longer_name")!.data as Float64Array), [0.5, -2]);
  const some = await readMat(file, (info) => (info.name === "abc" ? "skip" : "read"));
  assert.deepEqual([...some.keys()], ["longer_name"]);
});

function svhnFile(dir: string, compressed: boolean, y = [1, 2, 3]): { file: string; bytes: Buffer } {
  const file = join(dir, `s${compressed ? "c" : "p"}.mat`);
  const bytes = writeMat(file, svhnVars(patternImages(3, 3, 32, 32), 3, 32, 32, y), { compressed });
  return { file, bytes };
}

test("corrupt MAT-files: truncation, wrong header, bad zlib data, labels out of range, missing variables", async (t) => {
  const dir = tempDir(t);
  for (const compressed of [true, false]) {
    const { file, bytes } = svhnFile(dir, compressed);
    writeFileSync(file, bytes.subarray(0, bytes.length - 20));
    await assert.rejects(readSvhnMat(file), (e: unknown) => {
      assert.ok(e instanceof DataFormatError);
      assert.equal(e.file, file);
      assert.match(e.message, /truncated: the element at this offset declares \d+ bytes but the file ends \d+ bytes after its tag/);
      assert.equal(typeof e.offset, "number");
      return true;
    });
  }
  const { file, bytes } = svhnFile(dir, false);
  const wrong = Buffer.from(bytes);
  wrong.write("XX", 126, "latin1");
  writeFileSync(file, wrong);
  await assert.rejects(readSvhnMat(file), /not a level-5 MAT-file: endian indicator is "XX", expected "IM" or "MI" \(at byte offset 126\)/);
  writeFileSync(file, bytes.subarray(0, 100));
  await assert.rejects(readSvhnMat(file), /truncated MAT-file header: expected 128 bytes, found 100/);
  const v73 = Buffer.from(bytes);
  v73.write("MATLAB 7.3 MAT-file", 0, "latin1");
  writeFileSync(file, v73);
  await assert.rejects(readSvhnMat(file), /MAT-file v7\.3 \(HDF5\)/);

  // Flipped bytes in the deflate stream of X: a broken code, or (late in the stream) only the Adler-32 check fails.
  for (const [from, to, reason] of [[300, 340, "invalid distance too far back"], [1000, 1001, "incorrect data check"]] as const) {
    const c = svhnFile(dir, true);
    const corrupt = Buffer.from(c.bytes);
    for (let k = from; k < to; k++) corrupt[k] ^= 0x5a;
    writeFileSync(c.file, corrupt);
    await assert.rejects(readSvhnMat(c.file), (e: unknown) => {
      assert.ok(e instanceof DataFormatError);
      assert.equal(e.message, `${c.file}: corrupt compressed element (${reason}); expected zlib data (at byte offset 128)`);
      return true;
    });
  }

  const bad = svhnFile(dir, true, [1, 11, 3]);
  await assert.rejects(readSvhnMat(bad.file), /label y\(2\) = 11 is out of range; expected an integer 1\.\.10 \(10 is the digit 0\)/);
  const zero = svhnFile(dir, false, [0, 1, 2]);
  await assert.rejects(readSvhnMat(zero.file), /label y\(1\) = 0 is out of range/);

  const onlyY = join(dir, "y.mat");
  writeMat(onlyY, [svhnVars(patternImages(1, 3, 32, 32), 1, 32, 32, [1])[1]]);
  await assert.rejects(readSvhnMat(onlyY), /y\.mat: has no variable X; expected X \(32x32x3xN uint8 images\) and y \(Nx1 labels\)/);
  const wrongClass = join(dir, "double-x.mat");
  writeMat(wrongClass, [{ name: "X", classCode: 6, storage: 9, dims: [2, 2, 3, 1], values: new Float64Array(12) }]);
  await assert.rejects(readSvhnMat(wrongClass), /variable X is a 2x2x3x1 double array stored as double, expected HxWx3xN uint8/);
  await assert.rejects(readSvhnMat(join(dir, "absent.mat")), /absent\.mat: missing file; expected a level-5 MAT-file/);
});
