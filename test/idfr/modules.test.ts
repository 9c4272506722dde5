import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FeatureRestorer, InputDenoiser, gradOf, manualSeed, noGrad, rand, tidy } from "../../src/index.js";
import { values } from "../helpers.js";

describe("input denoiser (Table 6)", () => {
  it("keeps the input's shape and range, for even and odd sizes", () => {
    manualSeed(0);
    const id = new InputDenoiser({ channels: 3, zeroInitResidual: false }).eval();
    for (const size of [32, 27]) {
      tidy(() => noGrad(() => {
        const out = id.forward(rand([2, 3, size, size]));
        assert.deepEqual(out.shape, [2, 3, size, size]);
        assert.ok(values(out).every((v) => v >= 0 && v <= 1));
      }));
    }
  });
  it("starts as the identity when the residual is zero-initialised", () => {
    manualSeed(0);
    const id = new InputDenoiser({ channels: 1 });
    tidy(() => noGrad(() => {
      const x = rand([2, 1, 28, 28]);
      assert.deepEqual(values(id.forward(x)), values(x));
    }));
    const random = new InputDenoiser({ channels: 1, zeroInitResidual: false });
    tidy(() => noGrad(() => {
      const x = rand([2, 1, 28, 28]);
      assert.notDeepEqual(values(random.forward(x)), values(x));
    }));
  });
  it("has Table 6's layer widths and is differentiable with respect to its input", () => {
    const id = new InputDenoiser({ channels: 3 });
    const convs = id.namedParameters().filter(([k]) => k.endsWith("conv.weight") || k === "l9.weight").map(([k, t]) => [k, t.shape.slice(0, 2)]);
    assert.deepEqual(convs, [
      ["l1.conv.weight", [32, 3]], ["l2.conv.weight", [32, 32]], ["l3.conv.weight", [64, 32]], ["l4.conv.weight", [64, 64]],
      ["l5.conv.weight", [128, 64]], ["l6.conv.weight", [192, 192]], ["l7.conv.weight", [64, 192]], ["l8.conv.weight", [96, 96]],
      ["l9.weight", [3, 96]],
    ]);
    const g = gradOf((x) => id.eval().forward(x).sum(), rand([1, 3, 16, 16]).mul(0.5).add(0.25));
    assert.ok(values(g).some((v) => v !== 0));
  });
  it("the authors' code variant: a BN+ReLU last layer lets the residual only brighten pixels", () => {
    manualSeed(0);
    const code = new InputDenoiser({ channels: 1, variant: "reference-code", zeroInitResidual: false }).eval();
    tidy(() => noGrad(() => {
      const x = rand([2, 1, 20, 20]).mul(0.5);
      const out = values(code.forward(x));
      const inp = values(x);
      assert.ok(out.every((v, i) => v >= inp[i] - 1e-7), "never darker than the input");
    }));
    const zero = new InputDenoiser({ channels: 1, variant: "reference-code" });
    tidy(() => noGrad(() => {
      const x = rand([1, 1, 12, 12]);
      assert.deepEqual(values(zero.forward(x)), values(x));
    }));
    assert.throws(() => new InputDenoiser({ channels: 1, variant: "other" as never }), /variant must be "paper" or "reference-code"/);
  });
  it("rejects images with the wrong channel count", () => {
    assert.throws(() => new InputDenoiser({ channels: 1 }).forward(rand([1, 3, 8, 8])), /expected images \[N, 1, H, W\]/);
  });
});

describe("feature restorer (Table 7)", () => {
  it("maps D -> 256 -> 128 -> 32 -> 128 -> 256 -> D and keeps the width, post-ReLU", () => {
    const fr = new FeatureRestorer(512);
    const shapes = fr.namedParameters().filter(([k]) => k.endsWith("weight")).map(([, t]) => t.shape);
    assert.deepEqual(shapes, [[256, 512], [128, 256], [32, 128], [128, 32], [256, 128], [512, 256]]);
    const out = noGrad(() => fr.forward(rand([4, 512]).sub(0.5)));
    assert.deepEqual(out.shape, [4, 512]);
    assert.ok(values(out).every((v) => v >= 0));
    assert.deepEqual(new FeatureRestorer(2048).forward(rand([1, 2048])).shape, [1, 2048]);
    assert.throws(() => fr.forward(rand([1, 100])), /expected embeddings \[N, 512\]/);
  });
});
