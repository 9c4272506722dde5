import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Command } from "commander";
import sharp from "sharp";
import { registerDataCommands } from "../../src/cli/data.js";
import { imageGrid } from "../../src/data/grid.js";
import { patternImages, tempDir, writeCifar, writeText } from "./fixtures/write.js";

/** Runs `idfr <args>` with the data commands and returns what it printed. */
async function run(...args: string[]): Promise<string> {
  const chunks: string[] = [];
  const program = new Command("idfr").exitOverride().configureOutput({ writeErr: (s) => chunks.push(s) });
  registerDataCommands(program, { write: (s: string) => chunks.push(s) });
  await program.parseAsync(["node", "idfr", ...args]);
  return chunks.join("");
}

function cifarFolder(root: string): string {
  const dir = join(root, "cifar-10-batches-bin");
  mkdirSync(dir);
  for (let b = 1; b <= 5; b++) writeCifar(join(dir, `data_batch_${b}.bin`), [[b % 10], [(b + 5) % 10]], patternImages(2, 3, 32, 32));
  writeCifar(join(dir, "test_batch.bin"), Array.from({ length: 10 }, (_, i) => [i]), patternImages(10, 3, 32, 32));
  writeText(dir, "batches.meta.txt", ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"].join("\n"));
  return dir;
}

test("data info prints format, split sizes, shape, class names and per-class counts", async (t) => {
  const root = tempDir(t);
  const dir = cifarFolder(root);
  const out = await run("data", "info", root);
  assert.match(out, /^cifar10\n  format   CIFAR-10 binary\n/);
  assert.match(out, new RegExp(`source   ${dir}`));
  assert.match(out, /image    3x32x32 \(CxHxW\), uint8/);
  assert.match(out, /splits   train 10 \/ val 3 \/ test 7/);
  assert.match(out, /label  class\s+train\s+val\s+test/);
  assert.match(out, /\n\s+1  automobile\s+1\s+\d+\s+\d+\n/);
  const named = await run("data", "info", "cifar10", "--root", root);
  assert.equal(named, out);
  const file = await run("data", "info", join(dir, "test_batch.bin"));
  assert.match(file, /format   CIFAR-10 binary[\s\S]*splits   all 10[\s\S]*9  truck\s+1/);
  const digits = await run("data", "info", "mnist", "--limit", "20");
  assert.match(digits, /splits   train 20 \/ val 20 \/ test 20/);
});

test("data show writes a PNG grid of the requested size", async (t) => {
  const root = tempDir(t);
  cifarFolder(root);
  const png = join(root, "grid.png");
  const out = await run("data", "show", "cifar10", "--root", root, "--n", "4", "--out", png, "--split", "test", "--scale", "1");
  assert.match(out, /wrote .*grid\.png: 4 test images of cifar10, row by row: \w+, \w+, \w+, \w+/);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ["png", 2 * 32 + 3 * 2, 2 * 32 + 3 * 2]);
  await assert.rejects(run("data", "show", "cifar10", "--root", root, "--split", "extra", "--out", png), /has no extra split/);
  await assert.rejects(run("data", "show", "cifar10", "--root", root, "--n", "0"), /expected a positive integer/);
});

test("imageGrid places images row by row, enlarged, on a grey background", () => {
  const images = patternImages(3, 1, 2, 2);
  const set = { images, labels: new Uint8Array(3), shape: [3, 1, 2, 2] as [number, number, number, number], classes: ["x"] };
  const { data, width, height } = imageGrid(set, [2, 0, 1], { columns: 2, scale: 2, gap: 1 });
  assert.deepEqual([width, height], [2 * 4 + 3, 2 * 4 + 3]);
  const at = (x: number, y: number): number[] => Array.from(data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));
  assert.deepEqual(at(0, 0), [128, 128, 128]);
  assert.deepEqual(at(1, 1), [images[8], images[8], images[8]]); // image 2, pixel (0, 0)
  assert.deepEqual(at(4, 4), [images[11], images[11], images[11]]); // image 2, pixel (1, 1) enlarged
  assert.deepEqual(at(6, 1), [images[0], images[0], images[0]]); // image 0 in the second column
  assert.deepEqual(at(1, 6), [images[4], images[4], images[4]]); // image 1 in the second row
});

test("data show names the option when --n or --scale is out of range, or the grid too large", async (t) => {
  const root = tempDir(t);
  cifarFolder(root);
  const png = join(root, "grid.png");
  await assert.rejects(run("data", "show", "cifar10", "--root", root, "--n", "100000", "--out", png), /--n <count>' argument '100000' is invalid\. expected a positive integer up to 1024/);
  await assert.rejects(run("data", "show", "cifar10", "--root", root, "--scale", "100000", "--out", png), /--scale <k>' argument '100000' is invalid\. expected a positive integer up to 32/);
  // Within the limits: the 7 test images of 32x32 at scale 32 make a grid of 3 columns, 3,080 pixels wide.
  await run("data", "show", "cifar10", "--root", root, "--split", "test", "--scale", "32", "--out", png);
  assert.equal((await sharp(png).metadata()).width, 3 * 32 * 32 + 4 * 2);
  const big = { images: new Uint8Array(1024 * 3 * 32 * 32), labels: new Uint8Array(1024), shape: [1024, 3, 32, 32] as [number, number, number, number], classes: ["x"] };
  assert.throws(() => imageGrid(big, Array.from({ length: 1024 }, (_, i) => i), { scale: 32 }), /imageGrid: 1024 images of 32x32 at scale 32 make a 32834x32834 grid; at most 16383 pixels per side/);
});

test("data show refuses a grid too large for the image library, naming --n and --scale", async () => {
  // 1,024 digits at scale 32: 32 columns of 896 pixels.
  await assert.rejects(run("data", "show", "mnist", "--limit", "1100", "--n", "1024", "--scale", "32", "--out", "unused.png"),
    /--n 1024 at --scale 32: the grid would be 28738x28738 pixels, at most 16383 per side; use a smaller --n or --scale/);
});
