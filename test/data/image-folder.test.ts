import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { DataFormatError } from "../../src/data/errors.js";
import { readImageFolder, scanImageFolder } from "../../src/data/formats/image-folder.js";
import { pixel, tempDir } from "./fixtures/write.js";

/** Interleaved RGB(A) bytes of a w x h image with pixel(n, c, y, x). */
function rgb(n: number, w: number, h: number, channels: 1 | 3 | 4 = 3): Buffer {
  const out = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) {
    out[(y * w + x) * channels + c] = c === 3 ? 255 : pixel(n, c, y, x);
  }
  return out;
}

async function png(file: string, n: number, w: number, h: number, channels: 1 | 3 | 4 = 3): Promise<void> {
  await sharp(rgb(n, w, h, channels), { raw: { width: w, height: h, channels } }).png().toFile(file);
}

async function folder(root: string): Promise<void> {
  for (const cls of ["zebra", "ant", "bee"]) mkdirSync(join(root, cls), { recursive: true });
  await png(join(root, "zebra", "b.png"), 0, 4, 4);
  await png(join(root, "zebra", "a.PNG"), 1, 8, 4); // wider: the centre 4 columns are kept
  await png(join(root, "ant", "x.png"), 2, 4, 4, 4); // RGBA: alpha dropped
  await png(join(root, "bee", "g.png"), 3, 4, 6, 1); // grey, taller
  await sharp(rgb(4, 4, 4), { raw: { width: 4, height: 4, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: "4:4:4" }).toFile(join(root, "bee", "j.JPEG"));
  writeFileSync(join(root, "bee", "notes.txt"), "not an image");
}

test("classes sorted by name, files sorted within a class, other files ignored", async (t) => {
  const root = tempDir(t);
  await folder(root);
  const index = await scanImageFolder(root);
  assert.deepEqual(index.classes, ["ant", "bee", "zebra"]);
  assert.deepEqual(index.files.map((f) => f.slice(root.length + 1)), ["ant/x.png", "bee/g.png", "bee/j.JPEG", "zebra/a.PNG", "zebra/b.png"]);
  assert.deepEqual(Array.from(index.labels), [0, 1, 1, 2, 2]);
});

test("decoded, centre-cropped, NCHW pixel by pixel (PNG exact, JPEG close)", async (t) => {
  const root = tempDir(t);
  await folder(root);
  const set = await readImageFolder(root, { size: 4, concurrency: 3 });
  assert.deepEqual(set.shape, [5, 3, 4, 4]);
  assert.deepEqual(Array.from(set.labels), [0, 1, 1, 2, 2]);
  const at = (k: number, c: number, y: number, x: number): number => set.images[((k * 3 + c) * 4 + y) * 4 + x];
  for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
    assert.equal(at(0, c, y, x), pixel(2, c, y, x)); // ant/x.png, RGBA
    assert.equal(at(1, c, y, x), pixel(3, 0, y + 1, x)); // bee/g.png: grey to RGB, rows 1..4 of 6
    assert.ok(Math.abs(at(2, c, y, x) - pixel(4, c, y, x)) <= 4); // bee/j.JPEG (lossy)
    assert.equal(at(3, c, y, x), pixel(1, c, y, x + 2)); // zebra/a.PNG: columns 2..5 of 8
    assert.equal(at(4, c, y, x), pixel(0, c, y, x)); // zebra/b.png
  }
});

test("resizing: the shorter side goes to shorterSide, then the centre is cropped", async (t) => {
  const root = tempDir(t);
  mkdirSync(join(root, "c"));
  // Left half black, right half white, 20 x 10: shorter side 10 -> 5 gives 10 x 5, centre 4 x 4 = columns 3..6.
  const w = 20;
  const h = 10;
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = w / 2; x < w; x++) raw.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(root, "c", "i.png"));
  const set = await readImageFolder(root, { size: 4, shorterSide: 5 });
  const row = Array.from(set.images.subarray(0, 4));
  assert.ok(row[0] < 40 && row[3] > 215, `row ${row}`);
  await assert.rejects(readImageFolder(root, { size: 4, shorterSide: 3 }), /shorterSide: expected an integer >= size \(4\), got 3/);
});

test("only the selected indices are decoded, in the order given", async (t) => {
  const root = tempDir(t);
  await folder(root);
  const set = await readImageFolder(root, { size: 4, indices: [4, 0] });
  assert.deepEqual(Array.from(set.labels), [2, 0]);
  assert.equal(set.images[0], pixel(0, 0, 0, 0));
});

test("empty folders, empty classes and unreadable images are errors naming the path", async (t) => {
  const root = tempDir(t);
  await assert.rejects(scanImageFolder(root), (e: unknown) => e instanceof DataFormatError && /has no class sub-folders/.test(e.message));
  mkdirSync(join(root, "a"));
  mkdirSync(join(root, "b"));
  await png(join(root, "a", "1.png"), 0, 4, 4);
  await assert.rejects(scanImageFolder(root), new RegExp(`${join(root, "b")}: class folder is empty; expected at least one \\.jpeg, \\.jpg or \\.png image`));
  writeFileSync(join(root, "b", "broken.jpg"), Buffer.from("definitely not a jpeg"));
  await assert.rejects(readImageFolder(root, { size: 4 }), (e: unknown) => {
    assert.ok(e instanceof DataFormatError);
    assert.equal(e.file, join(root, "b", "broken.jpg"));
    assert.match(e.message, /cannot decode image \(.*\); expected a readable JPEG or PNG/);
    return true;
  });
  await assert.rejects(scanImageFolder(join(root, "nope")), /nope: missing file; expected a folder with one sub-folder of images per class/);
});
