/** ComDefend: the authors' architectures, binary codes, training, folders, their weight layout, BPDA/EOT and the registry. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  ComDefendDefense, ComDefendNets, comdefendFromOfficial, comdefendSettings, convLayers, loadComDefendDefense, loadOfficialLayers,
  officialVariant, saveComDefend, toTiles, trainComDefend, trainImagesOf, CPU_TRAIN_IMAGES,
} from "../../src/defenses/comdefend/index.js";
import { defenseEntry } from "../../src/defenses/registry.js";
import type { ImageSet } from "../../src/data/types.js";
import { parseExperiment, runExperiment, validateResults, type ExperimentInput } from "../../src/eval/index.js";
import { createClassifier } from "../../src/models/registry.js";
import { Generator, memory, nn, rand, tensor, tidy, zeros, type Tensor } from "../../src/torch/index.js";

/** Nets with seeded initial weights. */
const netsOf = (variant: "rgb" | "grey", seed = 1): ComDefendNets => {
  const g = new Generator(seed);
  try {
    return nn.init.withInitGenerator(g, () => new ComDefendNets(variant));
  } finally {
    g.dispose();
  }
};
const images = (shape: number[], seed: number): Tensor => rand(shape, { generator: new Generator(seed) });
const maxAbsDiff = (a: Tensor, b: Tensor): number => tidy(() => a.sub(b).abs().max().item());

// Widths as the authors' TensorFlow code writes them (Train_comdefend_TF.py, compression_mnist.py).
const OFFICIAL = {
  rgb: { com: [3, 16, 32, 64, 128, 256, 128, 64, 32, 12], rec: [12, 32, 64, 128, 256, 128, 64, 32, 16, 3] },
  grey: { com: [1, 32, 64, 128, 256, 128, 64, 64, 32, 4], rec: [4, 32, 64, 128, 256, 128, 64, 64, 32, 1] },
};

describe("architecture", () => {
  for (const variant of ["rgb", "grey"] as const) {
    it(`${variant}: each 3x3 conv has 9·in·out + out parameters, in the authors' widths`, () => {
      const nets = netsOf(variant);
      for (const net of ["com", "rec"] as const) {
        const widths = OFFICIAL[variant][net];
        const convs = convLayers(nets[net].features);
        assert.deepEqual(convs.map((c) => c.parameterCount()), widths.slice(1).map((o, i) => 9 * widths[i] * o + o));
        // ELU between convs, none after the last (linear code; RecCNN's sigmoid is in forward).
        assert.equal(nets[net].features.layers.filter((m) => m instanceof nn.ELU).length, widths.length - 2);
      }
      nets.dispose();
    });
  }
  it("the grey ComCNN has 813,220 parameters and the RGB one 783,372 (hand sums of the formula)", () => {
    assert.equal(netsOf("grey").com.parameterCount(), 813_220);
    assert.equal(netsOf("rgb").com.parameterCount(), 783_372);
  });
  it("the code has 4 channels for grey images and 12 for RGB, at full resolution; RecCNN's output is in (0, 1)", () => tidy(() => {
    for (const [variant, c, bits] of [["grey", 1, 4], ["rgb", 3, 12]] as const) {
      const nets = netsOf(variant);
      const code = nets.com.forward(images([2, c, 10, 12], 3));
      assert.deepEqual(code.shape, [2, bits, 10, 12]);
      const y = nets.rec.forward(code.sigmoid());
      assert.deepEqual(y.shape, [2, c, 10, 12]);
      assert.ok(y.min().item() > 0 && y.max().item() < 1);
      assert.throws(() => nets.com.forward(zeros([1, 3 - c + 1, 4, 4])), new RegExp(`ComCNN\\(${variant}\\): expected images \\[N, ${c}, H, W\\]`));
    }
  }));
  it("initial weights: truncated normal with std sqrt(2 / fan_in) (none beyond 2 std), zero biases", () => {
    const conv = convLayers(netsOf("rgb", 5).com.features)[4]; // 128 -> 256
    const std = Math.sqrt(2 / (128 * 9));
    const w = conv.weight.toTypedArray() as Float32Array;
    const sd = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    assert.ok(w.every((v) => Math.abs(v) <= 2 * std * (1 + 1e-6)));
    // The std of N(0, 1) truncated at ±2 is 0.8796.
    assert.ok(Math.abs(sd / std - 0.8796) < 0.01, `std ratio ${sd / std}`);
    assert.equal(conv.bias!.abs().max().item(), 0);
  });
});

describe("the defense", () => {
  const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 16, 16] }).eval();
  it("the bits are exactly 0 or 1, and with s = 0 they are [code > 0] (threshold 0.5)", () => tidy(() => {
    const x = images([3, 1, 16, 16], 7);
    const noisy = new ComDefendDefense(target, netsOf("grey"), { generator: new Generator(1) });
    const values = new Set(noisy.bits(x).toTypedArray() as Float32Array);
    assert.deepEqual([...values].sort(), [0, 1]);
    const exact = new ComDefendDefense(target, netsOf("grey"), { noise: 0 });
    const code = exact.nets.com.forward(x);
    assert.equal(maxAbsDiff(exact.bits(x), code.gt(0).float()), 0);
  }));
  it("with s = 0 the pipeline is deterministic; with s = 1 it is random, and a seeded generator repeats it", () => tidy(() => {
    const x = images([2, 1, 16, 16], 8);
    const exact = new ComDefendDefense(target, netsOf("grey"), { noise: 0 });
    assert.equal(exact.stochastic, false);
    assert.equal(maxAbsDiff(exact.purify(x), exact.purify(x)), 0);
    const a = new ComDefendDefense(target, netsOf("grey"), { generator: new Generator(3) });
    const b = new ComDefendDefense(target, netsOf("grey"), { generator: new Generator(3) });
    assert.equal(a.stochastic, true);
    const first = a.purify(x);
    assert.equal(maxAbsDiff(first, b.purify(x)), 0);
    assert.ok(maxAbsDiff(first, a.purify(x)) > 0, "a second draw gave the same image");
  }));
  it("rejects bad options and a target with other channels, naming them", () => {
    assert.throws(() => new ComDefendDefense(target, netsOf("grey"), { noise: -1 }), /noise/);
    assert.throws(() => new ComDefendDefense(target, netsOf("grey"), { threshold: 1 }), /threshold: expected a number in \(0, 1\), got 1/);
    assert.throws(() => new ComDefendDefense(target, netsOf("grey"), { bpda: "zero" as never }), /bpda/);
    assert.throws(() => new ComDefendDefense(target, netsOf("rgb")), /the rgb networks take 3-channel images, the target takes 1/);
  });
  it("BPDA: attackForward has the defended logits' value, and a non-zero gradient in both modes", () => tidy(() => {
    const x = images([2, 1, 16, 16], 9);
    for (const bpda of ["identity", "sigmoid"] as const) {
      const d = new ComDefendDefense(target, netsOf("grey"), { noise: 0, bpda });
      const xg = x.clone().requiresGrad_(true);
      const out = d.attackForward(xg);
      assert.ok(maxAbsDiff(out, d.logits(x)) < 1e-5, `${bpda}: value`);
      out.select(1, 3).sum().backward();
      const g = xg.grad!;
      assert.ok(g.abs().sum().item() > 0 && g.isFinite().all(), `${bpda}: gradient`);
    }
  }));
  it("patch mode: tiles are cut and merged back exactly (with padding), and each tile is purified on its own", () => tidy(() => {
    const x = images([2, 1, 10, 13], 10);
    const tiled = toTiles(x, 4);
    assert.deepEqual(tiled.tiles.shape, [2 * 3 * 4, 1, 4, 4]);
    assert.equal(maxAbsDiff(tiled.merge(tiled.tiles), x), 0);
    // Tile (row 1, col 2) of image 1 is rows 4..7, cols 8..11.
    assert.equal(maxAbsDiff(tiled.tiles.select(0, 12 + 4 + 2), x.select(0, 1).narrow(1, 4, 4).narrow(2, 8, 4)), 0);
    const d = new ComDefendDefense(target, netsOf("grey"), { noise: 0, patch: 8 });
    const whole = new ComDefendDefense(target, d.nets, { noise: 0 });
    const y = images([1, 1, 16, 16], 11);
    const corner = y.narrow(2, 8, 8).narrow(3, 0, 8).contiguous();
    assert.ok(maxAbsDiff(d.purify(y).narrow(2, 8, 8).narrow(3, 0, 8), whole.purify(corner)) < 1e-6);
    // The tiles' borders are seen, so patch mode differs from purifying the whole image.
    assert.ok(maxAbsDiff(d.purify(y), whole.purify(y)) > 1e-4);
  }));
  it("purify and attackForward leak no tensors", () => {
    const d = new ComDefendDefense(target, netsOf("grey"), { generator: new Generator(2), patch: 8 });
    const x = images([1, 1, 16, 16], 12);
    const before = memory().numTensors;
    for (let i = 0; i < 2; i++) {
      d.purify(x).dispose();
      d.logits(x).dispose();
      d.attackForward(x).dispose();
    }
    assert.equal(memory().numTensors, before);
  });
});

/** Grey images 8x8 of bright squares at random places (n of them), as an ImageSet. */
function squares(n: number, seed: number): ImageSet {
  const pixels = new Uint8Array(n * 64);
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let k = 0; k < n; k++) {
    const r = Math.floor(next() * 5);
    const c = Math.floor(next() * 5);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) pixels[k * 64 + (r + i) * 8 + c + j] = 255;
  }
  return { images: pixels, labels: new Uint8Array(n), shape: [n, 1, 8, 8], classes: ["a"] };
}

describe("training and folders", () => {
  const settings = { epochs: 3, batchSize: 20, lr: 1e-3, trainNoise: 20, codePenalty: 1e-4, seed: 4 };
  const dir = mkdtempSync(join(tmpdir(), "idfr-comdefend-"));
  let nets: ComDefendNets;
  it("the loss falls over a tiny run (authors' recipe: noise 20, Adam 1e-3, batch 20), checkpointing each epoch", async () => {
    const r = await trainComDefend(squares(60, 1), settings, { outDir: dir, progress: "none", log: () => {} });
    nets = r.nets;
    assert.equal(r.history.length, 3);
    assert.ok(r.history[2].loss < r.history[0].loss, `losses ${r.history.map((h) => h.loss)}`);
    assert.match(readFileSync(join(dir, "comdefend-log.jsonl"), "utf8"), /"epoch":3/);
  });
  it("a second run with resume finds the finished checkpoint and trains nothing more", async () => {
    const lines: string[] = [];
    const r = await trainComDefend(squares(60, 1), settings, { outDir: dir, resume: true, progress: "none", log: (l) => lines.push(l) });
    assert.equal(r.history.length, 3);
    assert.ok(lines.some((l) => /epoch 3 of 3 done/.test(l)), lines.join("\n"));
    r.nets.dispose();
  });
  it("save and load give the same purification; the folder records the inference settings", () => tidy(() => {
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 8, 8] }).eval();
    saveComDefend(dir, nets, { inference: { threshold: 0.4 } });
    const loaded = loadComDefendDefense(dir, target, { noise: 0 });
    assert.equal(loaded.threshold, 0.4);
    assert.equal(loaded.noise, 0);
    const d = new ComDefendDefense(target, nets, { noise: 0, threshold: 0.4 });
    const x = images([3, 1, 8, 8], 13);
    assert.equal(maxAbsDiff(loaded.purify(x), d.purify(x)), 0);
    assert.equal(loadComDefendDefense(dir, target).noise, 1);
    assert.throws(() => loadComDefendDefense(join(dir, "nowhere"), target), /not a ComDefend folder \(no comdefend\.json\)/);
  }));
});

describe("the authors' weight files (kernel HWIO, bias, in layer order)", () => {
  /** Synthetic arrays shaped like enc_mnist.npy / dec_mnist.npy, each value distinct. */
  const arrays = (widths: number[]) => widths.slice(1).flatMap((o, i) => {
    const kernel = { shape: [3, 3, widths[i], o], data: Float32Array.from({ length: 9 * widths[i] * o }, (_, k) => k * 1e-6 + i) };
    const bias = { shape: [o], data: Float32Array.from({ length: o }, (_, k) => -k - i) };
    return [kernel, bias];
  });
  it("put kernel[h][w][i][o] at weight[o][i][h][w], and the bias in order", () => {
    const enc = arrays(OFFICIAL.grey.com);
    const dec = arrays(OFFICIAL.grey.rec);
    assert.equal(officialVariant(enc), "grey");
    const nets = comdefendFromOfficial(enc, dec);
    // Conv 3 of ComCNN (64 -> 128): HWIO index (h=2, w=0, i=5, o=17), C order.
    const [h, w, i, o] = [2, 0, 5, 17];
    const flat = ((h * 3 + w) * 64 + i) * 128 + o;
    const weight = convLayers(nets.com.features)[2].weight;
    assert.equal(weight.shape.join(","), "128,64,3,3");
    assert.equal(weight.select(0, o).select(0, i).select(0, h).select(0, w).item(), enc[4].data[flat]);
    assert.equal(convLayers(nets.rec.features)[8].bias!.item(), -8);
    // A conv with the mapped kernel is TensorFlow's SAME correlation: a one-pixel image gives the flipped kernel around it.
    tidy(() => {
      const first = convLayers(nets.com.features)[0];
      const img = zeros([1, 1, 5, 5]);
      img.select(2, 2).select(2, 2).fill_(1);
      const out = first.forward(img).sub(first.bias!.reshape([1, 32, 1, 1]));
      // out[o, y, x] = Σ kernel[dy, dx, 0, o] · img[y + dy − 1, x + dx − 1] → at (y, x) = (1, 3): kernel[2, 0].
      const k = (hh: number, ww: number, oo: number) => enc[0].data[(hh * 3 + ww) * 32 + oo];
      assert.ok(Math.abs(out.select(1, 7).select(1, 1).select(1, 3).item() - k(2, 0, 7)) < 1e-6);
    });
  });
  it("refuse a list of the wrong length or shape, naming the array", () => {
    const nets = netsOf("grey");
    const enc = arrays(OFFICIAL.grey.com);
    assert.throws(() => loadOfficialLayers(nets, "com", enc.slice(2)), /com weights: expected 18 arrays \(a kernel and a bias for each of 9 convolutions\), got 16/);
    const bad = [...enc];
    bad[6] = { shape: [3, 3, 128, 255], data: new Float32Array(9 * 128 * 255) };
    assert.throws(() => loadOfficialLayers(nets, "com", bad), /array 6 \(kernel of convolution 4\) has shape \[3,3,128,255\], expected \[3,3,128,256\]/);
    assert.throws(() => comdefendFromOfficial(arrays([2, 32]), []), /the first kernel takes 2 channels; ComDefend's take 3 \(RGB\) or 1 \(grey\)/);
  });
});

describe("settings", () => {
  it("presets: cpu trains on a stated number of images, paper on all; bad keys are named", () => {
    assert.equal(trainImagesOf(comdefendSettings({})), 10_000);
    assert.equal(CPU_TRAIN_IMAGES, 10_000);
    assert.equal(trainImagesOf(comdefendSettings({ preset: "paper" })), undefined);
    assert.equal(trainImagesOf(comdefendSettings({ preset: "paper", trainImages: 50 })), 50);
    const s = comdefendSettings({});
    assert.deepEqual([s.batchSize, s.lr, s.trainNoise, s.codePenalty, s.noise, s.threshold, s.epochs], [20, 1e-3, 20, 1e-4, 1, 0.5, 1]);
    assert.throws(() => comdefendSettings({ noise: 0 }), /comdefend\.noise/);
    assert.throws(() => comdefendSettings({ bits: 3 }), /bits/);
  });
  it("the registry entry: random, so adaptive attacks use EOT; a baseline with its own section", () => {
    const e = defenseEntry("comdefend");
    assert.deepEqual([e.label, e.adaptive, e.group, e.section?.key], ["ComDefend", "eot", "baseline", "comdefend"]);
  });
});

describe("in an experiment", () => {
  const config: ExperimentInput = {
    name: "comdefend",
    dataset: { name: "mnist", trainImages: 100 },
    targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
    defenses: ["none", "comdefend"],
    comdefend: { trainImages: 20 },
    attacks: ["pgd"],
    attackOptions: { steps: 2 },
    eps: ["64/255"],
    threats: ["transfer", "whitebox", "adaptive"],
    adaptive: { attacks: ["pgd"], eotSamples: 2, attackOptions: { steps: 2 }, defenses: ["comdefend"] },
    evalImages: 10,
  } as ExperimentInput;
  it("trains once, gets transfer, white-box and adaptive rows, and the adaptive attack is at least as strong as the transfer one", async () => {
    const out = mkdtempSync(join(tmpdir(), "idfr-comdefend-run-"));
    const run = await runExperiment(parseExperiment(config), { outDir: out, progress: "none", log: () => {} });
    const records = validateResults(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    assert.equal(run.stats.defensesTrained, 1);
    const row = (threat: string) => records.find((r) => r.defense === "comdefend" && r.threat === threat);
    for (const threat of ["clean", "transfer", "whitebox", "adaptive"]) assert.ok(row(threat), `no ${threat} row`);
    assert.ok(row("adaptive")!.accuracy <= row("transfer")!.accuracy, `adaptive ${row("adaptive")!.accuracy} > transfer ${row("transfer")!.accuracy}`);
  });
});
