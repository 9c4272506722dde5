/** JPEG round trips through the real codec: small changes at q = 100, larger at q = 25, grey and RGB. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createBaseline, JpegDefense, jpegRoundTrip } from "../../src/defenses/baselines/index.js";
import { createClassifier } from "../../src/models/registry.js";
import { setNumThreads, tidy, type Tensor } from "../../src/torch/index.js";
import { scene } from "./images.js";

setNumThreads(1);

const meanAbs = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().mean().item());

for (const channels of [1, 3] as const) {
  test(`${channels === 1 ? "grey" : "RGB"}: q = 100 changes a natural image slightly, q = 25 clearly more`, () => {
    tidy(() => {
      const x = scene(3, channels, 32);
      const q100 = jpegRoundTrip(x, 100);
      const q25 = jpegRoundTrip(x, 25);
      assert.deepEqual(q100.shape, x.shape);
      const [d100, d25] = [meanAbs(q100, x), meanAbs(q25, x)];
      // RGB loses colour detail to 4:2:0 chroma subsampling even at q = 100 (the shapes are saturated).
      assert.ok(d100 < (channels === 1 ? 0.004 : 0.025), `q = 100 changed the image by ${d100} on average`);
      assert.ok(d100 > 0, "q = 100 left every pixel unchanged: no codec ran");
      assert.ok(d25 > 2 * d100, `q = 25 (${d25}) should change the image much more than q = 100 (${d100})`);
      // Decoded values are 8-bit levels.
      for (const v of q25.toArray().slice(0, 200)) assert.equal(Math.round(v * 255), Math.round(v * 255 * 1e4) / 1e4);
    });
  });
}

test("jpeg-q25/50/75 are registered, deterministic and named by quality", () => {
  tidy(() => {
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 16, 16] }).eval();
    const x = scene(2, 3, 16);
    let previous = 0;
    for (const q of [75, 50, 25]) {
      const d = createBaseline(`jpeg-q${q}`, target);
      assert.ok(d instanceof JpegDefense && d.quality === q && d.name === `jpeg-q${q}` && !d.stochastic);
      const [a, b] = [d.purify(x), d.purify(x)];
      assert.deepEqual(a.toArray(), b.toArray());
      const change = meanAbs(a, x);
      assert.ok(change > previous, `q = ${q}: lower quality must change more (${change} <= ${previous})`);
      previous = change;
    }
    assert.throws(() => new JpegDefense(target, { quality: 0 }), /jpeg quality: expected an integer in \[1, 100\], got 0/);
  });
});
