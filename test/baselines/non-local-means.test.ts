/** Non-local means (Feature Squeezing's third squeezer): against a plain loop reference, Lab values, flat images. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { nonLocalMeans } from "../../src/defenses/baselines/index.js";
import { labToRgb, rgbToLab } from "../../src/defenses/baselines/non-local-means.js";
import { full, manualSeed, rand, randn, setNumThreads, tensor, tidy } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";

setNumThreads(1);

/** Plain NLM of one grey 8-bit image (row-major h×w), OpenCV's formula with exact weights. */
function referenceNlm(img: number[], h: number, w: number, search: number, patch: number, strength: number): number[] {
  const mirror = (i: number, n: number) => {
    const period = 2 * (n - 1);
    const j = ((i % period) + period) % period;
    return j < n ? j : period - j;
  };
  const at = (i: number, j: number) => img[mirror(i, h) * w + mirror(j, w)];
  const s = (search - 1) / 2;
  const t = (patch - 1) / 2;
  const out: number[] = [];
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let num = 0;
      let den = 0;
      for (let di = -s; di <= s; di++) {
        for (let dj = -s; dj <= s; dj++) {
          let d2 = 0;
          for (let pi = -t; pi <= t; pi++) for (let pj = -t; pj <= t; pj++) d2 += (at(i + pi, j + pj) - at(i + di + pi, j + dj + pj)) ** 2;
          let weight = Math.exp(-(d2 / (patch * patch)) / (strength * strength));
          if (weight < 0.001) weight = 0;
          num += weight * at(i + di, j + dj);
          den += weight;
        }
      }
      out.push(Math.round(num / den));
    }
  }
  return out;
}

test("grey NLM equals a plain loop implementation of OpenCV's formula (reflected borders, weight floor, 8-bit output)", () => {
  manualSeed(3);
  tidy(() => {
    // A ramp plus noise, on the 8-bit grid, so that weights are neither all 1 nor all 0.
    const side = 7;
    const bytes = Array.from({ length: side * side }, (_, k) => Math.round(100 + 6 * (k % side) + 5 * Math.sin(k * 1.7)));
    const x = tensor(Float32Array.from(bytes, (v) => v / 255), [1, 1, side, side]);
    for (const [search, patch, h] of [[5, 3, 10], [3, 1, 4], [7, 3, 20]]) {
      const ours = nonLocalMeans(x, { search, patch, h }).mul(255).round().toArray();
      assert.deepEqual(ours, referenceNlm(bytes, side, side, search, patch, h), `${search}-${patch}-${h}`);
    }
  });
});

test("a constant image comes back unchanged, grey or colour", () => {
  tidy(() => {
    for (const c of [1, 3]) {
      const x = full([2, c, 12, 12], 100 / 255);
      assert.equal(nonLocalMeans(x, { search: 11, patch: 3, h: 4 }).sub(x).abs().max().item(), 0, `${c} channel(s)`);
    }
  });
});

test("noise on a flat image loses most of its variance", () => {
  manualSeed(4);
  tidy(() => {
    for (const c of [1, 3]) {
      const noisy = randn([2, c, 24, 24]).mul(3 / 255).add(0.5).mul(255).round().div(255);
      const before = noisy.sub(0.5).square().mean().item();
      const after = nonLocalMeans(noisy, { search: 11, patch: 3, h: 4 }).sub(0.5).square().mean().item();
      assert.ok(after < 0.3 * before, `${c} channel(s): variance ${before * 255 ** 2} -> ${after * 255 ** 2} (0-255 scale)`);
    }
  });
});

test("Lab on OpenCV's 8-bit scale: white and linear red by hand, and the round trip", () => {
  tidy(() => {
    // White: L 100 -> 255, a = b = 0 -> 128. Linear red (1, 0, 0): L 53.24, a 80.09, b 67.20 (the CIE values of sRGB red).
    const lab = rgbToLab(tensor([1, 1, 1, 0, 0, 0], [2, 3, 1, 1])).toArray();
    assertClose(lab.slice(0, 3), [255, 128, 128], 1e-4, "white");
    assertClose(rgbToLab(tensor([1, 0, 0], [1, 3, 1, 1])).toArray(), [53.24 * 2.55, 128 + 80.09, 128 + 67.2], 2e-3, "red");
    manualSeed(5);
    const x = rand([2, 3, 6, 6]);
    assert.ok(labToRgb(rgbToLab(x)).sub(x).abs().max().item() < 1e-5);
  });
});

test("settings are checked, naming the bad one", () => {
  tidy(() => {
    const x = rand([1, 1, 8, 8]);
    assert.throws(() => nonLocalMeans(x, { search: 10, patch: 3, h: 4 }), /nlm search window: expected an odd integer, got 10/);
    assert.throws(() => nonLocalMeans(x, { search: 11, patch: 3, h: 0 }), /nlm h: expected a number > 0/);
  });
});
