import assert from "node:assert/strict";
import { test } from "node:test";
import { augmentationFor, CIFAR_AUGMENTATION, drawTransform, NO_AUGMENTATION, SVHN_AUGMENTATION, writeImage, type ImageTransform } from "../../src/data/augment.js";
import { Rng } from "../../src/data/random.js";
import { patternImages } from "./fixtures/write.js";

/** The textbook definition: zero-pad by p, crop the window at (p + dy, p + dx), then maybe flip. */
function reference(src: Uint8Array, c: number, h: number, w: number, t: ImageTransform, p = 4): Float32Array {
  const out = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const py = y + p + t.dy;
    const px = x + p + t.dx;
    const inside = py >= p && py < h + p && px >= p && px < w + p;
    const v = inside ? src[(ch * h + py - p) * w + px - p] / 255 : 0;
    out[(ch * h + y) * w + (t.flip ? w - 1 - x : x)] = v;
  }
  return out;
}

test("writeImage equals pad-crop-flip done the textbook way, for every shift and flip", () => {
  const [c, h, w] = [3, 6, 5];
  const src = patternImages(2, c, h, w);
  const offset = c * h * w; // the second image, to check source offsets
  for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) for (const flip of [false, true]) {
    const out = new Float32Array(2 + c * h * w).fill(-1);
    writeImage(src, offset, c, h, w, { dy, dx, flip }, out, 2);
    assert.deepEqual(out.subarray(0, 2), Float32Array.from([-1, -1]));
    assert.deepEqual(out.subarray(2), reference(src.subarray(offset), c, h, w, { dy, dx, flip }), `dy=${dy} dx=${dx} flip=${flip}`);
  }
});

test("no transform is a plain scaling to [0, 1]", () => {
  const src = Uint8Array.from([0, 1, 128, 255]);
  const out = new Float32Array(4);
  writeImage(src, 0, 1, 2, 2, { dy: 0, dx: 0, flip: false }, out, 0);
  assert.deepEqual(Array.from(out), [0, 1 / 255, 128 / 255, 1].map(Math.fround));
});

test("drawn transforms: shifts uniform over -4..4, flips about half the time, none for digits", () => {
  const rng = new Rng(3);
  const shifts = new Map<number, number>();
  let flips = 0;
  for (let i = 0; i < 9000; i++) {
    const t = drawTransform(CIFAR_AUGMENTATION, rng);
    shifts.set(t.dx, (shifts.get(t.dx) ?? 0) + 1);
    assert.ok(t.dy >= -4 && t.dy <= 4);
    flips += t.flip ? 1 : 0;
  }
  assert.deepEqual([...shifts.keys()].sort((a, b) => a - b), [-4, -3, -2, -1, 0, 1, 2, 3, 4]);
  for (const n of shifts.values()) assert.ok(n > 850 && n < 1150, `count ${n}`);
  assert.ok(flips > 4300 && flips < 4700, `flips ${flips}`);
  for (let i = 0; i < 100; i++) assert.equal(drawTransform(SVHN_AUGMENTATION, rng).flip, false);
  assert.deepEqual(drawTransform(NO_AUGMENTATION, rng), { dy: 0, dx: 0, flip: false });
  assert.equal(augmentationFor("cifar100"), CIFAR_AUGMENTATION);
  assert.equal(augmentationFor("svhn"), SVHN_AUGMENTATION);
  assert.equal(augmentationFor("fashion-mnist"), NO_AUGMENTATION);
  assert.equal(augmentationFor("mnist"), NO_AUGMENTATION);
});
