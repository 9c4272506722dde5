/** NRP: the authors' purifier sizes, SSP, training, static and dynamic inference, files, and the registry entries in a run. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  criticStages, loadNrpDefense, makePurifier, negLogSigmoidMean, NrpCritic, NrpDefense, nrpTrainConfig, saveNrpPurifier,
  selfSupervisedPerturbation, trainNrp, type NrpStepLosses,
} from "../../src/defenses/nrp/index.js";
import { defenseEntry } from "../../src/defenses/registry.js";
import { parseExperiment, runExperiment, validateResults } from "../../src/eval/index.js";
import type { ResultRecord } from "../../src/eval/results.js";
import { createClassifier } from "../../src/models/registry.js";
import type { ImageSet } from "../../src/data/types.js";
import { F, Generator, nn, noGrad, rand, setNumThreads, tensor, tidy, type Tensor } from "../../src/torch/index.js";

setNumThreads(1);

const build = <T>(seed: number, make: () => T): T => {
  const g = new Generator(seed);
  try {
    return nn.init.withInitGenerator(g, make);
  } finally {
    g.dispose();
  }
};
const smallTarget = (seed = 3) => build(seed, () => createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 })).eval();
const tinySizes = { channels: 1, nf: 8, nb: 1, gc: 4 };

/** Smooth blobs on a dark background, MNIST-like, as uint8 pixels. */
function blobs(n: number, seed: number): ImageSet {
  const images = new Uint8Array(n * 28 * 28);
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    const cx = 8 + 12 * next(), cy = 8 + 12 * next(), r = 3 + 5 * next();
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      const d = Math.hypot(x - cx, y - cy);
      images[i * 784 + y * 28 + x] = Math.round(255 * Math.max(0, Math.min(1, (r - d) / 2 + 0.5)));
    }
  }
  return { images, labels: new Uint8Array(n), shape: [n, 1, 28, 28], classes: Array.from({ length: 10 }, (_, k) => String(k)) };
}

describe("purifiers at the authors' sizes", () => {
  it("NRP has 16,550,275 parameters and NRP_resG 1,702,211 (nf 64, nb 23, gc 32, RGB), with the authors' names", () => {
    const nrp = build(0, () => makePurifier("nrp", { channels: 3, nf: 64, nb: 23, gc: 32 }));
    const resg = build(0, () => makePurifier("nrp-resg", { channels: 3, nf: 64, nb: 23, gc: 32 }));
    assert.equal(nrp.parameterCount(), 16_550_275);
    assert.equal(resg.parameterCount(), 1_702_211);
    // networks.py's state-dict keys, so that converted official weights load by name.
    assert.ok(nrp.stateDict().has("RRDB_trunk.22.RDB3.conv5.weight"));
    assert.deepEqual(nrp.stateDict().get("trunk_conv.weight")!.shape, [3, 64, 3, 3]);
    assert.ok(resg.stateDict().has("recon_trunk.22.conv2.bias"));
    nrp.dispose();
    resg.dispose();
  });
  it("channels follow the data, and sizes are checked", () => {
    const p = build(0, () => makePurifier("nrp", tinySizes));
    tidy(() => assert.deepEqual(noGrad(() => p.forward(rand([2, 1, 28, 28]))).shape, [2, 1, 28, 28]));
    // conv_first 1->8 (80) + 3 dense blocks of (8*9*4+4)+(12*9*4+4)+(16*9*4+4)+(20*9*4+4)+(24*9*8+8) = 3768 each + trunk 8->1 (73).
    assert.equal(p.parameterCount(), 80 + 3 * 3768 + 73);
    assert.throws(() => makePurifier("nrp", { ...tinySizes, gc: 0 }), /expected a positive integer for gc, got 0/);
  });
  it("NRP_resG's residual blocks start at a tenth of Kaiming's scale with zero biases", () => {
    const p = build(1, () => makePurifier("nrp-resg", { channels: 3, nf: 64, nb: 2, gc: 32 }));
    const w = p.stateDict().get("recon_trunk.0.conv1.weight")!;
    const std = tidy(() => w.square().mean().sqrt().item());
    // Kaiming normal, fan_in 576: std sqrt(2/576) = 0.0589; times 0.1.
    assert.ok(Math.abs(std - 0.1 * Math.sqrt(2 / 576)) < 3e-4, `std ${std}`);
    assert.equal(tidy(() => p.stateDict().get("recon_trunk.1.conv2.bias")!.abs().max().item()), 0);
  });
  it("the critic scores each image once; its depth follows the image side", () => {
    assert.deepEqual([criticStages(28), criticStages(32), criticStages(128), criticStages(224)], [3, 4, 5, 5]);
    const c = build(0, () => new NrpCritic(1, 4, 28)).eval();
    tidy(() => assert.deepEqual(noGrad(() => c.forward(rand([3, 1, 28, 28]))).shape, [3, 1]));
  });
  it("-log σ(z) is computed stably", () => {
    tidy(() => {
      const z = tensor([-50, -1, 0, 2, 60]);
      const expected = [50, Math.log1p(Math.E), Math.LN2, Math.log1p(Math.exp(-2)), Math.log1p(Math.exp(-60))];
      assert.ok(Math.abs(negLogSigmoidMean(z).item() - expected.reduce((a, b) => a + b) / 5) < 1e-5);
    });
  });
});

describe("the self-supervised perturbation", () => {
  it("stays within ε and [0, 1] and moves the features further than its random start", () => {
    const target = smallTarget();
    tidy(() => {
      const x = tensor(Float32Array.from(blobs(4, 1).images, (v) => v / 255), [4, 1, 28, 28]);
      const features = (t: Tensor) => target.embed(t);
      const mse = (a: Tensor) => tidy(() => noGrad(() => F.mseLoss(features(a), features(x)).item()));
      const eps = 16 / 255;
      const start = selfSupervisedPerturbation(features, x, { eps, steps: 1, stepSize: 1e-6, generator: new Generator(5) });
      const adv = selfSupervisedPerturbation(features, x, { eps, steps: 10, stepSize: 0.01, generator: new Generator(5) });
      assert.ok(adv.sub(x).abs().max().item() <= eps + 1e-6);
      assert.ok(adv.min().item() >= 0 && adv.max().item() <= 1);
      assert.ok(mse(adv) > 1.2 * mse(start), `feature MSE ${mse(start)} -> ${mse(adv)}`);
      assert.throws(() => selfSupervisedPerturbation(features, x, { eps, steps: 0, stepSize: 0.01 }), /expected a positive integer for steps, got 0/);
    });
  });
});

describe("inference", () => {
  const target = smallTarget();
  const purifier = build(2, () => makePurifier("nrp", tinySizes));
  it("static: clamp(P(x), 0, 1), deterministic, and the adaptive gradient is P's exact one", () => {
    const d = new NrpDefense(target, purifier);
    assert.equal(d.stochastic, false);
    assert.equal(d.name, "nrp");
    tidy(() => {
      const x = rand([3, 1, 28, 28], { generator: new Generator(1) });
      const a = d.purify(x), b = d.purify(x);
      assert.equal(a.sub(b).abs().max().item(), 0);
      assert.ok(a.min().item() >= 0 && a.max().item() <= 1);
      const expected = noGrad(() => purifier.forward(x).clamp(0, 1));
      assert.equal(a.sub(expected).abs().max().item(), 0);
      // The adaptive path differentiates through the purifier: its gradient is not the identity's (BPDA's).
      const exact = tidy(() => {
        const input = x.detach().requiresGrad_(true);
        d.attackForward(input).sum().backward();
        return input.grad!.clone();
      });
      const bpda = tidy(() => {
        const input = a.detach().requiresGrad_(true);
        target.forward(input).sum().backward();
        return input.grad!.clone();
      });
      assert.ok(exact.abs().sum().item() > 0);
      assert.ok(exact.sub(bpda).abs().max().item() > 1e-4);
    });
  });
  it("dynamic: the noisy input stays in the 16/255 ball and [0, 1]; random, a seed repeats it", () => {
    const d = new NrpDefense(target, purifier, { mode: "dynamic", generator: new Generator(9) });
    assert.equal(d.stochastic, true);
    assert.equal(d.name, "nrp-dynamic");
    tidy(() => {
      const x = rand([4, 1, 28, 28], { generator: new Generator(2) });
      const noisy = d.purifierInput(x);
      const delta = noisy.sub(x).abs();
      assert.ok(delta.max().item() <= 16 / 255 + 1e-6);
      // σ = 0.05 < 16/255 = 0.063: most draws fall inside, some are projected onto the border.
      assert.ok(delta.mean().item() > 0.02 && delta.mean().item() < 0.05, `mean |noise| ${delta.mean().item()}`);
      assert.ok(noisy.min().item() >= 0 && noisy.max().item() <= 1);
      assert.ok(d.purify(x).sub(d.purify(x)).abs().max().item() > 0, "two draws should differ");
      const again = new NrpDefense(target, purifier, { mode: "dynamic", generator: new Generator(9) });
      assert.equal(again.purifierInput(x).sub(noisy).abs().max().item(), 0);
    });
    assert.throws(() => new NrpDefense(target, purifier, { mode: "noisy" as "static" }), /mode/);
  });
});

describe("training and files", () => {
  it("a tiny run's purifier loss falls; saving and loading gives the same outputs", async () => {
    const target = smallTarget();
    const config = { ...nrpTrainConfig({ nf: 8, nb: 1, gc: 4, criticNf: 4, epochs: 3, batchSize: 20, sspSteps: 2, lr: 2e-3 }, 7) };
    const steps: NrpStepLosses[] = [];
    const ckpt = mkdtempSync(join(tmpdir(), "idfr-nrp-ckpt-"));
    const { purifier, history } = await trainNrp(target, blobs(100, 4), config, { outDir: ckpt, progress: "none", onStep: (l) => steps.push(l), log: () => {} });
    assert.equal(history.length, 3);
    assert.equal(steps.length, 15);
    const mean = (ls: NrpStepLosses[], k: keyof NrpStepLosses) => ls.reduce((s, l) => s + l[k], 0) / ls.length;
    const [first, last] = [steps.slice(0, 5), steps.slice(-5)];
    // The relativistic term hovers near log 2 while the critic keeps up; the content terms fall.
    assert.ok(mean(last, "pixel") < 0.5 * mean(first, "pixel"), `pixel MSE ${mean(first, "pixel")} -> ${mean(last, "pixel")}`);
    assert.ok(mean(last, "feature") < 0.9 * mean(first, "feature"), `feature L1 ${mean(first, "feature")} -> ${mean(last, "feature")}`);
    assert.ok(mean(last, "total") < mean(first, "total"));
    assert.ok(history[2].loss < history[0].loss, `epoch losses ${history.map((r) => r.loss)}`);
    for (const l of steps) {
      assert.ok(Math.abs(l.total - (5e-3 * l.adversarial + 1e-2 * l.pixel + l.feature)) < 1e-6, "the authors' weights 5e-3, 1e-2, 1");
    }
    const dir = mkdtempSync(join(tmpdir(), "idfr-nrp-"));
    saveNrpPurifier(dir, purifier, { arch: "nrp", sizes: { channels: 1, nf: 8, nb: 1, gc: 4 }, training: config });
    assert.equal(JSON.parse(readFileSync(join(dir, "nrp.json"), "utf8")).version, 1);
    const loaded = loadNrpDefense(dir, target);
    tidy(() => {
      const x = rand([3, 1, 28, 28], { generator: new Generator(3) });
      const expected = new NrpDefense(target, purifier).purify(x);
      assert.equal(loaded.purify(x).sub(expected).abs().max().item(), 0);
    });
    assert.throws(() => loadNrpDefense(dir), /records no target folder/);
    // A resume finds every epoch done in the checkpoint (purifier, critic and both optimisers) and trains no more.
    const resumed = await trainNrp(target, blobs(100, 4), config, { outDir: ckpt, resume: true, progress: "none", onStep: () => assert.fail("trained again"), log: () => {} });
    assert.deepEqual(resumed.history.map((r) => r.loss), history.map((r) => r.loss));
    tidy(() => {
      const x = rand([2, 1, 28, 28], { generator: new Generator(4) });
      assert.equal(noGrad(() => resumed.purifier.forward(x).sub(purifier.forward(x)).abs().max().item()), 0);
    });
  });
});

describe("the registry entries in a run", () => {
  it("presets fill the keys left out; explicit keys win", () => {
    const paper = nrpTrainConfig({ preset: "paper" }, 4);
    assert.deepEqual([paper.arch, paper.nf, paper.nb, paper.gc, paper.sspSteps, paper.sspStepSize, paper.lr, paper.trainImages, paper.seed], ["nrp", 64, 23, 32, 100, 0.01, 1e-4, null, 4]);
    assert.deepEqual([paper.eps, paper.advWeight, paper.pixelWeight, paper.featureWeight], [16 / 255, 5e-3, 1e-2, 1]);
    const cpu = nrpTrainConfig({ nb: 3, seed: 9 }, 4);
    assert.deepEqual([cpu.preset, cpu.nf, cpu.nb, cpu.gc, cpu.epochs, cpu.trainImages, cpu.seed], ["cpu", 16, 3, 8, 2, 3000, 9]);
    assert.throws(() => nrpTrainConfig({ nf: 0 }), /nf/);
  });
  it("nrp is exact and static, nrp-dynamic is EOT and random; both read the nrp section", () => {
    assert.equal(defenseEntry("nrp").adaptive, "exact");
    assert.equal(defenseEntry("nrp-dynamic").adaptive, "eot");
    assert.equal(defenseEntry("nrp").section?.key, "nrp");
    assert.throws(() => parseExperiment({ name: "x", dataset: { name: "mnist" }, targets: [{ arch: "small-cnn", surrogate: { arch: "small-cnn" } }],
      defenses: ["nrp"], attacks: ["fgsm"], eps: ["8/255"], threats: ["transfer"], nrp: { preset: "laptop" } }), /nrp\.preset/);
  });
  it("rows under transfer, white-box and adaptive attacks; the adaptive attack is at least as strong as the transfer one", async () => {
    const out = mkdtempSync(join(tmpdir(), "idfr-nrp-run-"));
    const config = parseExperiment({
      name: "nrp-tiny", dataset: { name: "mnist", trainImages: 300 },
      targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
      defenses: ["none", "nrp", "nrp-dynamic"], attacks: ["pgd"], eps: ["16/255"], threats: ["transfer", "whitebox", "adaptive"],
      nrp: { nf: 8, nb: 1, gc: 8, criticNf: 4, epochs: 2, trainImages: 300, sspSteps: 2, batchSize: 20, lr: 2e-3 },
      adaptive: { attacks: ["pgd"], eotSamples: 2, attackOptions: { steps: 5 } }, evalImages: 30,
    });
    await runExperiment(config, { outDir: out, progress: "none" });
    const records: ResultRecord[] = validateResults(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    const acc = (d: string, threat: string) => {
      const r = records.find((x) => x.defense === d && x.threat === threat && (threat === "clean" || x.attack === "pgd"));
      assert.ok(r, `no ${threat} row for ${d}`);
      return r.accuracy;
    };
    // The purifier keeps the digits recognisable (the comparison below is not between two chance levels).
    assert.ok(acc("nrp", "clean") > 0.5 * acc("none", "clean"), `clean: nrp ${acc("nrp", "clean")}, none ${acc("none", "clean")}`);
    for (const d of ["nrp", "nrp-dynamic"]) {
      for (const threat of ["transfer", "whitebox", "adaptive"]) assert.equal(records.find((x) => x.defense === d && x.threat === threat)!.n, 30);
      assert.ok(acc(d, "adaptive") <= acc(d, "transfer"), `${d}: adaptive ${acc(d, "adaptive")} > transfer ${acc(d, "transfer")}`);
    }
  });
});
