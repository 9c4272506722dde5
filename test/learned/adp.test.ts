/** ADP: the score network's size, the authors' adaptive purification on stub scores, the ensemble, DSM training, files, gradients, and the registry entry in a run. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  adaptiveStep, ADP_PURIFY_DEFAULTS, adpSettings, adpSteps, adpUnroll, aggregateLogits, AdpDefense, buildScoreNet, dsmLoss, loadAdpDefense,
  noisyStart, ScoreNet, geometricSigmas, trainScoreNet, repeatAdaptiveEvaluation, scoreNetFromStateDict, summarizeRuns, type AdpPurifySettings, type ScoreFn,
} from "../../src/defenses/adp/index.js";
import { makeAttack } from "../../src/attacks/presets.js";
import { defenseEntry } from "../../src/defenses/registry.js";
import { parseExperiment, runExperiment, validateResults } from "../../src/eval/index.js";
import type { ResultRecord } from "../../src/eval/results.js";
import { createClassifier } from "../../src/models/registry.js";
import type { ImageSet } from "../../src/data/types.js";
import { enableGrad, Generator, grad, nn, noGrad, rand, setNumThreads, tensor, tidy, type Tensor } from "../../src/torch/index.js";
import { assertClose, gradcheck, values } from "../helpers.js";

setNumThreads(1);

const S: AdpPurifySettings = { ...ADP_PURIFY_DEFAULTS };
const build = <T>(seed: number, make: () => T): T => {
  const g = new Generator(seed);
  try {
    return nn.init.withInitGenerator(g, make);
  } finally {
    g.dispose();
  }
};

/**
 * s(x) = -k_t K_n (x - c): a linear stub whose slope k_t changes with the step t (counted from its
 * calls, two per step: the score and the probe) and K_n with the sample. Then
 * s(x + ε s) = (1 - ε k_t K_n) s, so z = 1 - ε k_t K_n and α = λ / (k_t K_n) exactly, and a step
 * x ← x + α s moves x by the factor 1 - λ toward c whatever the slope.
 */
function linearStub(c: number, k: readonly number[], perSample: readonly number[]): { score: ScoreFn; calls: () => number } {
  let calls = 0;
  const score: ScoreFn = (x) => {
    const step = Math.floor(calls++ / 2);
    const slope = tensor(perSample.map((K) => -(k[Math.min(step, k.length - 1)]! * K)), [perSample.length, 1, 1, 1], x.dtype);
    return x.sub(c).mul(slope);
  };
  return { score, calls: () => calls };
}

const x0 = () => tensor([0.1, 0.9, 0.3, 0.7, 0.2, 0.4, 0.6, 0.8], [2, 1, 2, 2]);
const toward = (x: number[], c: number, factor: number) => x.map((v) => c + factor * (v - c));

describe("the score network", () => {
  it("NCSNv2 at the authors' CIFAR-10 size (ngf 128, RGB) has 29,694,083 parameters, with their module names", () => {
    const net = build(0, () => new ScoreNet({ channels: 3, ngf: 128, sigmas: geometricSigmas(50, 0.01, 232) }));
    assert.equal(net.parameterCount(), 29_694_083);
    const keys = [...net.stateDict().keys()];
    for (const k of ["begin_conv.weight", "res2.0.conv2.conv.weight", "res2.0.shortcut.conv.weight", "res3.0.shortcut.weight", "res1.0.normalize1.alpha",
      "refine1.adapt_convs.0.1_1_conv.weight", "refine4.output_convs.3_2_conv.weight", "refine2.msf.convs.1.weight", "refine3.crp.convs.1.weight", "normalizer.beta", "sigmas"]) {
      assert.ok(keys.includes(k), `missing ${k}`);
    }
    assert.equal(net.sigmas.size(0), 232);
    net.dispose();
  });
  it("the geometric ladder runs from σ_begin to σ_end with a constant ratio", () => {
    const s = geometricSigmas(50, 0.01, 232);
    assertClose([s[0]!, s[231]!, s[1]! / s[0]!, s[200]! / s[199]!], [50, 0.01, Math.pow(0.01 / 50, 1 / 231), Math.pow(0.01 / 50, 1 / 231)], 1e-9);
    assert.throws(() => geometricSigmas(1, 0.01, 0), /expected a positive integer count, got 0/);
  });
  it("keeps 28x28 and 32x32 shapes and refuses odd sizes", () => {
    const net = build(1, () => new ScoreNet({ channels: 1, ngf: 4, sigmas: [1, 0.1] }));
    noGrad(() => tidy(() => {
      assert.deepEqual(net.forward(rand([2, 1, 28, 28])).shape, [2, 1, 28, 28]);
      assert.throws(() => net.forward(rand([1, 1, 27, 27])), /expected even image height and width, got 27x27/);
    }));
  });
});

describe("the authors' adaptive step on stub scores", () => {
  it("z and α per sample: α = clamp(λε/(1 - z), 1e-5, 0.1), and a zero score gives NaN (a stop)", () => {
    tidy(() => {
      const s = tensor([1, 2, 1, 2, 1, 2, 0, 0], [4, 2]);
      const probe = tensor([0.999, 1.998, 0.9999, 1.9998, 1.001, 2.002, 0, 0], [4, 2]);
      const { z, alpha } = adaptiveStep(s, probe, S);
      assertClose(values(z).slice(0, 3), [0.999, 0.9999, 1.001], 1e-6, "z");
      const a = values(alpha);
      // 0.05·1e-3 / 1e-3 = 0.05; 0.05·1e-3 / 1e-4 = 0.5, clamped to 0.1; 1 - z < 0 gives a negative α, clamped to 1e-5.
      assertClose(a.slice(0, 3), [0.05, 0.1, 1e-5], 1e-3, "alpha");
      assert.ok(Number.isNaN(a[3]));
    });
  });
  it("steps, per-sample stops that last, and the hand-computed iterates", () => {
    tidy(() => {
      // Slopes: step 0 k = 1, step 1 k = 10, then 1; sample 0 K = 1, sample 1 K = 20.
      const { score, calls } = linearStub(0.5, [1, 10, 1], [1, 20]);
      const trace = adpSteps(score, x0(), { ...S, maxSteps: 4 });
      assert.equal(trace.steps.length, 4);
      assert.equal(calls(), 8);
      // z = 1 - 1e-3·kK: kK = 1, 20 | 10, 200 | 1, 20 | 1, 20.
      assertClose(trace.steps.flatMap((s) => values(s.z)), [0.999, 0.98, 0.99, 0.8, 0.999, 0.98, 0.999, 0.98], 1e-5, "z");
      // α = 0.05/kK: 0.05, 0.0025 | 0.005, 2.5e-4 (<= 1e-3: sample 1 stops for good) | 0.05, (0.0025) | 0.05, (0.0025).
      assertClose(trace.steps.flatMap((s) => values(s.alpha)), [0.05, 0.0025, 0.005, 2.5e-4, 0.05, 0.0025, 0.05, 0.0025], 1e-3, "alpha");
      assertClose(trace.steps.flatMap((s) => values(s.applied)), [0.05, 0.0025, 0.005, 0, 0.05, 0, 0.05, 0], 1e-3, "applied");
      // Every step taken moves x by 0.95 toward c: sample 0 four times, sample 1 once.
      const x = values(x0());
      assertClose(values(trace.images), [...toward(x.slice(0, 4), 0.5, 0.95 ** 4), ...toward(x.slice(4), 0.5, 0.95)], 1e-5, "images");
    });
  });
  it("the loop ends once every sample has stopped, taking no step then", () => {
    tidy(() => {
      const { score, calls } = linearStub(0.5, [1, 100], [1, 1]);
      const trace = adpSteps(score, x0(), S);
      assert.equal(trace.steps.length, 2);
      assert.equal(calls(), 4);
      assertClose(values(trace.steps[1]!.applied), [0, 0]);
      assertClose(values(trace.images), toward(values(x0()), 0.5, 0.95), 1e-5);
    });
  });
  it("z = 1 gives the largest step and the iterates are clamped to [0, 1]; so is the noisy start", () => {
    tidy(() => {
      // s ≡ 1: the probe equals s, z = 1, α = clamp(∞) = 0.1.
      const trace = adpSteps((x) => x.mul(0).add(1), tensor([0.95, 0.5], [1, 1, 1, 2]), { ...S, maxSteps: 2 });
      assertClose(values(trace.images), [1, 0.7], 1e-6);
      assertClose(values(noisyStart(tensor([0.9, 0.1, 0.5], [1, 1, 1, 3]), tensor([0.2, -0.3, 0.1], [1, 1, 1, 3]), false)), [1, 0, 0.6], 1e-6);
    });
  });
  it("a zero score stops at once and gives the start back", () => {
    tidy(() => {
      const trace = adpSteps((x) => x.mul(0), x0(), S);
      assert.equal(trace.steps.length, 1);
      assertClose(values(trace.images), values(x0()));
    });
  });
  it("the authors' grid bookkeeping: x·255/256 + 1/512 once, x·256/255 - 1/510 after each step", () => {
    tidy(() => {
      const start = noisyStart(tensor([0.2], [1, 1, 1, 1]), tensor([0], [1, 1, 1, 1]), true);
      assertClose(values(start), [0.2 * 255 / 256 + 1 / 512], 1e-6);
      const trace = adpSteps((x) => x.mul(0).add(1), start, { ...S, maxSteps: 2, authorsGrid: true });
      let v = 0.2 * 255 / 256 + 1 / 512;
      for (let i = 0; i < 2; i++) v = Math.min(1, Math.max(0, (v + 0.1) * 256 / 255 - 1 / 510));
      assertClose(values(trace.images), [v], 1e-6);
    });
  });
});

describe("the ensemble", () => {
  // Sample 0: one confident draw for class 1 against two milder ones for class 0; sample 1: a three-way tie.
  const draws = () => [tensor([0, 20, 0, 1, 0, 0], [2, 3]), tensor([3, 0, 0, 0, 1, 0], [2, 3]), tensor([3, 0, 0, 0, 0, 1], [2, 3])];
  it("softmax sum (the paper's) picks class 0, logits sum class 1, votes class 0; ties go to the lowest index", () => {
    tidy(() => {
      const p0 = Math.exp(3) / (Math.exp(3) + 2), q = 1 / (Math.exp(3) + 2);
      const e20 = Math.exp(20), top = e20 / (e20 + 2), low = 1 / (e20 + 2);
      const soft = values(aggregateLogits(draws(), "softmax").exp());
      assertClose(soft.slice(0, 3), [(low + 2 * p0) / 3, (top + 2 * q) / 3, (low + 2 * q) / 3], 1e-5, "mean probability");
      assertClose(values(aggregateLogits(draws(), "logits")).slice(0, 3), [2, 20 / 3, 0], 1e-6, "mean logits");
      assertClose(values(aggregateLogits(draws(), "vote")), [2 / 3, 1 / 3, 0, 1 / 3, 1 / 3, 1 / 3], 1e-6, "vote shares");
      assert.deepEqual(values(aggregateLogits(draws(), "softmax").argmax(1)), [0, 0]);
      assert.deepEqual(values(aggregateLogits(draws(), "logits").argmax(1)), [1, 0]);
      assert.deepEqual(values(aggregateLogits(draws(), "vote").argmax(1)), [0, 0]);
      assert.throws(() => aggregateLogits([], "softmax"), /expected at least one draw, got none/);
    });
  });
});

describe("gradients through the unroll", () => {
  it("on the linear stub the value is the purification's and the gradient is 0.95^steps", () => {
    tidy(() => {
      const { score } = linearStub(0.5, [1], [1, 1]);
      const noise = tensor([0.01, -0.02, 0.03, 0, 0.02, 0.01, -0.01, 0], [2, 1, 2, 2]);
      const trace = adpSteps(score, noisyStart(x0(), noise, false), { ...S, maxSteps: 3 });
      const x = x0().requiresGrad_(true);
      const [g] = enableGrad(() => {
        const out = adpUnroll(linearStub(0.5, [1], [1, 1]).score, x, noise, trace.steps.map((s) => s.applied));
        assertClose(values(out.detach()), values(trace.images), 1e-6, "unrolled value");
        return grad(out.sum(), [x]);
      });
      assertClose(values(g!), new Array(8).fill(0.95 ** 3), 1e-5, "gradient");
    });
  });
  it("matches finite differences on a nonlinear stub score (α and the stop mask held constant)", () => {
    const score: ScoreFn = (x) => x.sub(0.5).mul(2).tanh().neg().mul(x.square().add(1));
    const noise = tensor(Float64Array.from([0.03, -0.02, 0.01, 0.02, -0.01, 0.0, 0.02, -0.03]), [2, 1, 2, 2]);
    const applied = [tensor(Float64Array.from([0.1, 0.05])), tensor(Float64Array.from([0.08, 0])), tensor(Float64Array.from([0.02, 0]))];
    gradcheck((x) => adpUnroll(score, x, noise, applied), [x0()], 1e-6, 1e-5);
  });
});

/** Smooth blobs on a dark background, MNIST-like, as uint8 pixels. */
function blobs(n: number, seed: number, size = 8): ImageSet {
  const images = new Uint8Array(n * size * size);
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    const cx = size * (0.3 + 0.4 * next()), cy = size * (0.3 + 0.4 * next()), r = size * (0.1 + 0.2 * next());
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      images[i * size * size + y * size + x] = Math.round(255 * Math.max(0, Math.min(1, r - Math.hypot(x - cx, y - cy) + 0.5)));
    }
  }
  return { images, labels: new Uint8Array(n), shape: [n, 1, size, size], classes: ["a", "b"] };
}

describe("training, files and the defense", () => {
  const tiny = { ngf: 4, sigmaBegin: 1, sigmaEnd: 0.05, numSigmas: 4, epochs: 3, batchSize: 16, lr: 3e-3, trainImages: 0 };
  let trained: ScoreNet | null = null;
  it("denoising score matching: the loss on a fixed batch falls after a short run", async () => {
    const data = blobs(96, 7);
    const fixed = tensor(Float32Array.from(data.images.subarray(0, 32 * 64), (v) => v / 255), [32, 1, 8, 8]);
    const lossAt = (net: ScoreNet) => noGrad(() => tidy(() => {
      const g = new Generator(99);
      try {
        return dsmLoss(net, fixed, g).item();
      } finally {
        g.dispose();
      }
    }));
    const before = lossAt(buildScoreNet(1, tiny, 5));
    const { net, history } = await trainScoreNet(data, tiny, 5, { progress: "none" });
    const after = lossAt(net);
    assert.equal(history.length, 3);
    // At initialisation the raw output is near 0, so the loss is about ½·pixels = 32.
    assert.ok(before > 20, `initial loss ${before}`);
    assert.ok(after < 0.8 * before, `DSM loss ${before} -> ${after}`);
    assert.ok(history[2]!.loss < history[0]!.loss, `epoch losses ${history.map((h) => h.loss)}`);
    trained = net;
  });
  it("saves and loads: the same scores, settings and purification", () => {
    const net = trained!;
    const target = build(3, () => createClassifier("small-cnn", { numClasses: 2, inputShape: [1, 8, 8], width: 0.25 })).eval();
    const dir = mkdtempSync(join(tmpdir(), "idfr-adp-"));
    const settings = { ...S, ensemble: 3, maxSteps: 3 };
    const defense = new AdpDefense(target, net, settings, 11);
    defense.save(dir);
    const loaded = loadAdpDefense(dir, target, { noiseSeed: 11 });
    assert.deepEqual(loaded.settings, settings);
    assert.equal(JSON.parse(readFileSync(join(dir, "adp.json"), "utf8")).version, 1);
    tidy(() => {
      const x = tensor(Float32Array.from(blobs(4, 3).images, (v) => v / 255), [4, 1, 8, 8]);
      assertClose(values(noGrad(() => loaded.net.forward(x))), values(noGrad(() => net.forward(x))), 1e-6, "scores");
      // Same noise seed, same draws: the same ensemble scores.
      assertClose(values(loaded.logits(x)), values(defense.logits(x)), 1e-5, "ensemble");
      // A fresh draw each call: purification is random.
      assert.notDeepEqual(values(defense.purify(x)), values(defense.purify(x)));
    });
  });
  it("loads a state dict laid out as the authors' checkpoint (a list saved from DataParallel)", () => {
    const net = trained!;
    const state = new Map<string, Tensor>([...net.stateDict()].map(([k, t]) => [`0.module.${k}`, t]));
    state.set("1.state.0.exp_avg", tensor([1, 2]));
    const copy = scoreNetFromStateDict(state);
    assert.equal(copy.ngf, 4);
    assert.equal(copy.channels, 1);
    tidy(() => {
      const x = tensor(Float32Array.from(blobs(2, 4).images, (v) => v / 255), [2, 1, 8, 8]);
      assertClose(values(noGrad(() => copy.forward(x))), values(noGrad(() => net.forward(x))), 1e-6);
    });
    assert.throws(() => scoreNetFromStateDict(new Map([["conv.weight", tensor([1])]])), /expected an NCSNv2 state dict/);
  });
  it("the attack path has a non-zero gradient, equal to one draw's unroll", () => {
    const target = build(3, () => createClassifier("small-cnn", { numClasses: 2, inputShape: [1, 8, 8], width: 0.25 })).eval();
    const defense = new AdpDefense(target, trained!, { ...S, maxSteps: 3 }, 2);
    tidy(() => {
      const x = tensor(Float32Array.from(blobs(2, 5).images, (v) => v / 255), [2, 1, 8, 8]).requiresGrad_(true);
      const [g] = enableGrad(() => grad(defense.attackForward(x).select(1, 0).sum(), [x]));
      assert.ok(values(g!.abs().sum())[0]! > 0, "zero gradient");
      assert.ok(values(g!).every(Number.isFinite));
    });
  });
});

describe("adaptive evaluation repeated over seeds", () => {
  it("mean ± sample std and the per-sample worst case of hand-made runs", () => {
    const r = summarizeRuns([
      { seed: 1, accuracy: 0.5, robust: [true, true, false, false] },
      { seed: 2, accuracy: 0.25, robust: [true, false, false, false] },
      { seed: 3, accuracy: 0.75, robust: [true, true, true, false] },
    ]);
    assertClose([r.mean, r.std, r.worstCase], [0.5, 0.25, 0.25], 1e-12);
    assert.throws(() => summarizeRuns([]), /expected at least one run, got none/);
  });
  it("runs the adaptive attack three times with different seeds on ADP", () => {
    const net = build(4, () => new ScoreNet({ channels: 1, ngf: 4, sigmas: [1, 0.1] }));
    const target = build(3, () => createClassifier("small-cnn", { numClasses: 2, inputShape: [1, 8, 8], width: 0.25 })).eval();
    tidy(() => {
      const x = tensor(Float32Array.from(blobs(6, 9).images, (v) => v / 255), [6, 1, 8, 8]);
      const y = noGrad(() => target.forward(x).argmax(1));
      const r = repeatAdaptiveEvaluation((seed) => new AdpDefense(target, net, { ...S, maxSteps: 2, ensemble: 2 }, seed),
        (model, seed) => makeAttack("pgd", model, { eps: 32 / 255, steps: 2, seed }), x, y, { runs: 3, eotSamples: 2, seed: 5 });
      assert.equal(r.runs.length, 3);
      assert.equal(new Set(r.runs.map((run) => run.seed)).size, 3);
      assertClose([r.mean], [r.runs.reduce((a, run) => a + run.accuracy, 0) / 3], 1e-12);
      assert.ok(r.worstCase <= Math.min(...r.runs.map((run) => run.accuracy)) + 1e-12);
      for (const run of r.runs) assert.equal(run.robust.length, 6);
    });
  });
});

describe("ADP in a run", () => {
  it("is registered as a random baseline attacked with EOT", () => {
    const e = defenseEntry("adp");
    assert.equal(e.label, "ADP");
    assert.equal(e.adaptive, "eot");
    assert.equal(e.group, "baseline");
    assert.equal(adpSettings({}).ngf, 16);
    assert.equal(adpSettings({ preset: "paper" }).numSigmas, 232);
    assert.throws(() => adpSettings({ aggregate: "max" }), /aggregate/);
  });
  it("gets transfer, white-box and adaptive rows; the adaptive attack is at least as strong as the transfer one", async () => {
    const out = mkdtempSync(join(tmpdir(), "idfr-adp-run-"));
    const config = parseExperiment({
      name: "adp-run",
      dataset: { name: "mnist", trainImages: 300 },
      targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
      defenses: ["none", "adp"],
      adp: { ngf: 4, numSigmas: 4, epochs: 1, batchSize: 50, trainImages: 200, maxSteps: 2, ensemble: 2 },
      attacks: ["pgd"],
      attackOptions: { steps: 5 },
      eps: ["64/255"],
      threats: ["transfer", "whitebox", "adaptive"],
      adaptive: { attacks: ["pgd"], eotSamples: 2, attackOptions: { steps: 5 } },
      evalImages: 20,
    });
    const run = await runExperiment(config, { outDir: out, progress: "none" });
    const records: ResultRecord[] = validateResults(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    assert.equal(run.records.length, records.length);
    const adp = (threat: string) => records.find((r) => r.defense === "adp" && r.threat === threat && r.attack === "pgd");
    for (const t of ["transfer", "whitebox", "adaptive"]) assert.ok(adp(t), `no ${t} row for adp`);
    assert.ok(adp("adaptive")!.accuracy <= adp("transfer")!.accuracy, `adaptive ${adp("adaptive")!.accuracy} > transfer ${adp("transfer")!.accuracy}`);
  });
});
