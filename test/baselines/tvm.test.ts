/** TVM: exact-ish reconstruction without dropout, sensible filling of dropped pixels, seeded draws. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TvmDefense, tvInpaint } from "../../src/defenses/baselines/index.js";
import { createClassifier } from "../../src/models/registry.js";
import { bernoulli, Generator, manualSeed, ones, rand, setNumThreads, tensor, tidy, type Tensor } from "../../src/torch/index.js";
import { scene } from "./images.js";

setNumThreads(1);

const absErr = (a: Tensor, b: Tensor) => tidy(() => { const d = a.sub(b).abs(); return { mean: d.mean().item(), max: d.max().item() }; });

test("with every pixel kept (p = 1) a smooth image comes back almost exactly", () => {
  tidy(() => {
    const x = scene(2, 3, 24, false);
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 24, 24] }).eval();
    const err = absErr(new TvmDefense(target, { keepProbability: 1 }).purify(x), x);
    // TV only trims slopes where they meet the border, by a few hundredths at most.
    assert.ok(err.mean < 0.006 && err.max < 0.05, `error mean ${err.mean}, max ${err.max}`);
    // λ = 0 with nothing dropped is the identity.
    assert.ok(absErr(tvInpaint(x, ones([2, 1, 24, 24]), { lambda: 0 }), x).max < 1e-6);
  });
});

test("half the pixels dropped: the holes are filled close to the original, and more iterations lower the error", () => {
  manualSeed(4);
  tidy(() => {
    const x = scene(2, 3, 24);
    const mask = bernoulli(0.5, [2, 1, 24, 24]);
    const holes = mask.rsub(1);
    const holeErr = (z: Tensor) => tidy(() => z.sub(x).abs().mul(holes).sum().item() / (holes.sum().item() * 3));
    const rough = holeErr(tvInpaint(x, mask, { iterations: 0 }));
    const solved = holeErr(tvInpaint(x, mask));
    assert.ok(solved < 0.04, `mean error on dropped pixels ${solved}`);
    assert.ok(solved < rough, `iterations made the fill worse: ${rough} -> ${solved}`);
  });
});

test("stochastic: one draw per pixel and channel (Guo et al.'s code); a seed repeats the draw, another seed differs", () => {
  tidy(() => {
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 16, 16] }).eval();
    const tvm = new TvmDefense(target, { iterations: 10 });
    assert.equal(tvm.stochastic, true);
    assert.equal(tvm.name, "tvm");
    const x = scene(2, 3, 16);
    manualSeed(9);
    const a = tvm.purify(x).toArray();
    manualSeed(9);
    const b = tvm.purify(x).toArray();
    manualSeed(10);
    const c = tvm.purify(x).toArray();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.throws(() => new TvmDefense(target, { keepProbability: 0 }), /keepProbability/);

    // With λ = 0 kept values come back unchanged and dropped ones are interpolated, which shows the
    // mask: about half the values of each channel, drawn independently per channel, so a pixel's
    // three channels agree (all kept or all dropped) only about a quarter of the time.
    const x24 = scene(1, 3, 24, false);
    manualSeed(11);
    const z = new TvmDefense(target, { lambda: 0 }).purify(x24);
    const unchanged = tidy(() => z.sub(x24).abs().lt(1e-6).toArray());
    const plane = 24 * 24;
    const kept = [0, 0, 0];
    let agree = 0;
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) kept[c] += unchanged[i + c * plane];
      if (unchanged[i] === unchanged[i + plane] && unchanged[i] === unchanged[i + 2 * plane]) agree += 1;
    }
    for (const k of kept) assert.ok(k > 0.4 * plane && k < 0.6 * plane, `${k} of ${plane} values kept`);
    assert.ok(agree > 0.15 * plane && agree < 0.35 * plane, `${agree} of ${plane} pixels with all channels alike`);
  });
});

test("with its own generator the masks follow that stream alone: the draws of manualSeed(s), whatever the global generator does", () => {
  tidy(() => {
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 16, 16] }).eval();
    const x = scene(2, 3, 16);
    manualSeed(9);
    const viaGlobal = [new TvmDefense(target, { iterations: 10 }).purify(x).toArray(), new TvmDefense(target, { iterations: 10 }).purify(x).toArray()];
    const own = new TvmDefense(target, { iterations: 10, generator: new Generator(9) });
    manualSeed(3);
    const first = own.purify(x).toArray();
    rand([1000]); // global draws in between do not move the defense's stream
    manualSeed(9);
    assert.deepEqual([first, own.purify(x).toArray()], viaGlobal);
    own.generator!.dispose();
  });
});

test("a dropped value that is 0 stays observed, as in Guo et al.'s code (observeZeros), unless turned off", () => {
  tidy(() => {
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 16, 16] }).eval();
    // Left half black, right half 0.8: with λ = 0 observed values come back unchanged.
    const x = tensor(Float32Array.from({ length: 256 }, (_, i) => (i % 16 < 8 ? 0 : 0.8)), [1, 1, 16, 16]);
    const blackStays = (z: Tensor) => tidy(() => z.narrow(3, 0, 8).abs().max().item());
    manualSeed(2);
    assert.ok(blackStays(new TvmDefense(target, { lambda: 0 }).purify(x)) < 1e-6);
    manualSeed(2);
    // Without it, dropped black values next to the bright half are filled with some of its light.
    assert.ok(blackStays(new TvmDefense(target, { lambda: 0, observeZeros: false }).purify(x)) > 0.1);
    assert.throws(() => new TvmDefense(target, { observeZeros: 1 as unknown as boolean }), /observeZeros/);
  });
});
