/** SOAP: the authors' models, aux losses, purification, joint training, saving, and its registry row end to end. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readMnistPackage } from "../../src/data/embedded.js";
import { cleanFloats } from "../../src/data/tensors.js";
import { limitSet } from "../../src/data/splits.js";
import {
  auxAwareBpda, auxDescent, auxLossPerSample, fixedView, loadSoapDefense, newSoapModel, officialKey, resolveSoapSettings, rotateQuarter,
  SoapDefense, soapPurify, trainSoapModel, type SoapModelConfig, type SoapPurifySettings,
} from "../../src/defenses/soap/index.js";
import { parseExperiment, runExperiment, validateResults } from "../../src/eval/index.js";
import type { Classifier } from "../../src/models/classifier.js";
import { defenseEntry } from "../../src/defenses/registry.js";
import { arange, F, Generator, rand, tensor, tidy, valueAndGrad, type Tensor } from "../../src/torch/index.js";

const cfg = (model: "resnet" | "cae", shape: [number, number, number], rotation = false): SoapModelConfig =>
  ({ model, rotation, numClasses: 10, inputShape: shape, mean: new Array(shape[0]).fill(0), std: new Array(shape[0]).fill(1) });
const images = (shape: number[], seed: number): Tensor => {
  const g = new Generator(seed);
  const x = rand(shape, { generator: g });
  g.dispose();
  return x;
};
const maxAbs = (a: Tensor, b: Tensor) => tidy(() => a.sub(b).abs().max().item());

describe("SOAP models", () => {
  it("the CIFAR resnet has the authors' 175,818 parameters; the rotation head adds their fc1 (64 -> 4)", () => {
    const m = newSoapModel(cfg("resnet", [3, 32, 32]), 0);
    assert.equal(m.parameterCount(), 175_818);
    const rot = newSoapModel(cfg("resnet", [3, 32, 32], true), 0);
    assert.equal(rot.parameterCount(), 175_818 + 64 * 4 + 4);
    // The authors' state-dict names map onto ours by renaming alone.
    const ours = new Set(rot.stateDict().keys());
    for (const k of ["conv1.bias", "bn1.running_var", "layer1.1.conv2.weight", "layer2.0.shortcut.0.weight", "layer3.0.shortcut.1.num_batches_tracked", "linear.weight"]) {
      assert.ok(ours.has(officialKey(k, "resnet")), k);
      assert.ok(ours.has(officialKey(`resnet.${k}`, "resnet")), `resnet.${k}`);
    }
    assert.equal(officialKey("fc1.weight", "resnet"), "rotHead.weight");
    // conv1 2 + bn1 5, six blocks of 14 (two convs, two batch norms) and two shortcuts of 7, head 2, rotHead 2.
    assert.equal(ours.size, 2 + 5 + 6 * 14 + 2 * 7 + 2 + 2);
    m.dispose(); rot.dispose();
  });
  it("the conv autoencoder: their layer sizes (6,474,507 parameters at 1x28x28) and names", () => {
    const m = newSoapModel(cfg("cae", [1, 28, 28]), 0);
    const expected = (9 + 1) * 32 + (32 * 9 + 1) * 64 + (3136 + 1) * 1024 + (1024 + 1) * 10 + (1024 + 1) * 3136 + (64 * 9 + 1) * 32 + (32 * 9 + 1) * 1;
    assert.equal(expected, 6_474_507);
    assert.equal(m.parameterCount(), expected);
    const ours = [...m.stateDict().keys()].sort();
    const theirs = ["conv1", "conv2", "fc1", "cls", "fc2", "conv3", "conv4"].flatMap((l) => [`${l}.weight`, `${l}.bias`]).map((k) => officialKey(k, "cae")).sort();
    assert.deepEqual(ours, theirs);
    const out = tidy(() => m.run(images([2, 1, 28, 28], 1)));
    assert.deepEqual(out.logits.shape, [2, 10]);
    assert.deepEqual(out.reconstruction!.shape, [2, 1, 28, 28]);
    m.dispose();
  });
  it("rotations and the fixed view move pixels where the authors' transforms do", () => {
    const x = arange(0, 16, 1, { dtype: "float32" }).reshape([1, 1, 4, 4]);
    // 90°: transpose then flip columns, so the first row becomes the last column read downwards... as theirs.
    assert.deepEqual(Array.from(rotateQuarter(x, 1).toTypedArray() as Float32Array).slice(0, 4), [12, 8, 4, 0]);
    assert.deepEqual(Array.from(rotateQuarter(x, 2).toTypedArray() as Float32Array).slice(0, 4), [15, 14, 13, 12]);
    assert.deepEqual(Array.from(rotateQuarter(x, 3).toTypedArray() as Float32Array).slice(0, 4), [3, 7, 11, 15]);
    // 32x32: flip, crop [2, 30), nearest resize back: output column j reads flipped column 2 + floor(j * 28 / 32).
    const big = arange(0, 32, 1, { dtype: "float32" }).reshape([1, 1, 1, 32]).expand([1, 1, 32, 32]).contiguous();
    const row = Array.from((fixedView(big).select(2, 0).flatten().toTypedArray() as Float32Array));
    assert.deepEqual(row, Array.from({ length: 32 }, (_, j) => 31 - (2 + Math.floor((j * 28) / 32))));
  });
});

describe("SOAP purification", () => {
  const settings: SoapPurifySettings = { delta: 0.1, stepSize: 0.1, steps: 3, radii: 3, select: "sample" };
  const cae3 = settings;
  const cae = newSoapModel(cfg("cae", [1, 28, 28]), 3).eval();
  const x = images([6, 1, 28, 28], 4);
  it("δ = 0 (or no radius above 0) gives the input back exactly", () => {
    for (const s of [{ ...settings, delta: 0, stepSize: 0 }, { ...settings, delta: 0 }, { ...settings, radii: 0 }]) {
      const r = soapPurify(cae, "recon", x, s);
      assert.equal(maxAbs(r.images, x), 0);
      r.images.dispose(); r.radius.dispose(); r.before.dispose(); r.after.dispose();
    }
  });
  for (const [name, model, aux, shape] of [
    ["cae / recon", cae, "recon", [6, 1, 28, 28]],
    ["resnet / pi", newSoapModel(cfg("resnet", [3, 16, 16]), 5).eval(), "pi", [4, 3, 16, 16]],
    ["resnet / rot", newSoapModel(cfg("resnet", [3, 16, 16], true), 6).eval(), "rot", [4, 3, 16, 16]],
  ] as const) {
    it(`${name}: every sample's aux loss after purification <= before, as recomputed on the output, inside its radius and [0, 1]`, () => {
      const input = name.startsWith("cae") ? x : images([...shape], 7);
      // The authors' radius unit for each: 0.1 on (Fashion-)MNIST, 4/255 on CIFAR.
      const settings: SoapPurifySettings = name.startsWith("cae") ? cae3 : { delta: 4 / 255, stepSize: 4 / 255, steps: 2, radii: 2, select: "sample" };
      const r = soapPurify(model, aux, input, settings);
      const before = Array.from(auxLossPerSample(model, aux, input).toTypedArray() as Float32Array);
      const after = Array.from(auxLossPerSample(model, aux, r.images).toTypedArray() as Float32Array);
      const radius = Array.from(r.radius.toTypedArray() as BigInt64Array, Number);
      after.forEach((a, i) => assert.ok(a <= before[i] + 1e-7, `sample ${i}: ${a} > ${before[i]}`));
      assert.ok(after.some((a, i) => a < before[i]), "purification lowered no sample's aux loss");
      assert.deepEqual(Array.from(r.after.toTypedArray() as Float32Array).map((v) => v.toFixed(5)), after.map((v) => v.toFixed(5)));
      const dist = Array.from(tidy(() => r.images.sub(input).abs().flatten(1).max(1)).toTypedArray() as Float32Array);
      dist.forEach((d, i) => assert.ok(d <= radius[i] * settings.delta + 1e-6, `sample ${i} moved ${d} at radius ${radius[i]}`));
      assert.ok(tidy(() => r.images.min().item()) >= 0 && tidy(() => r.images.max().item()) <= 1);
      // The chosen candidate is the aux descent at the chosen radius, computed alone.
      const i = radius.findIndex((e) => e > 0);
      if (i >= 0) {
        const one = input.narrow(0, i, 1);
        const alone = auxDescent(model, aux, one, radius[i] * settings.delta, settings.stepSize, settings.steps);
        assert.ok(maxAbs(alone, r.images.narrow(0, i, 1)) < 1e-6);
      }
    });
  }
  it('select "batch" gives every sample one radius, with a batch mean no higher than the input\'s', () => {
    const r = soapPurify(cae, "recon", x.narrow(0, 0, 3), { ...settings, radii: 2, select: "batch" });
    const radius = new Set(Array.from(r.radius.toTypedArray() as BigInt64Array, Number));
    assert.equal(radius.size, 1);
    assert.ok(tidy(() => r.after.mean().item()) <= tidy(() => r.before.mean().item()));
    // Radii searched as one batch of copies or one at a time: the same result.
    const s = { ...settings, radii: 2 };
    const together = soapPurify(cae, "recon", x.narrow(0, 0, 3), s);
    const alone = soapPurify(cae, "recon", x.narrow(0, 0, 3), s, 1);
    assert.ok(maxAbs(together.images, alone.images) < 1e-6);
    assert.deepEqual(together.radius.toArray(), alone.radius.toArray());
  });
  it("one hand-checked sign step: recon gradient sign, projected to the radius", () => {
    const one = x.narrow(0, 0, 1);
    const eps = 0.05;
    const stepped = auxDescent(cae, "recon", one, eps, 0.1, 1);
    // A step of 0.1 clipped to ε = 0.05: every pixel moved by exactly ±0.05 or was clipped at 0 or 1.
    const moved = Array.from(tidy(() => stepped.sub(one).abs()).toTypedArray() as Float32Array);
    const xs = Array.from(one.toTypedArray() as Float32Array);
    const ys = Array.from(stepped.toTypedArray() as Float32Array);
    moved.forEach((m, j) => assert.ok(Math.abs(m - eps) < 1e-6 || ys[j] === 0 || ys[j] === 1 || m === 0, `pixel ${j}: moved ${m} from ${xs[j]}`));
  });
});

describe("SOAP training, saving and loading", () => {
  const digits = readMnistPackage();
  // The package holds the digits grouped by class: take a class-balanced subset.
  const train = limitSet(digits, 160, 3);
  it("a tiny joint run (cae, recon) lowers both the CE and the aux loss; save and load give the same logits", async () => {
    const settings = { ...resolveSoapSettings({ epochs: 3, batchSize: 32, lr: 0.02 }, 1, 11) };
    assert.equal(settings.model, "cae");
    assert.equal(settings.aux, "recon");
    assert.equal(settings.purify.delta, 0.1);
    const model = newSoapModel(cfg("cae", [1, 28, 28]), settings.seed);
    const history = await trainSoapModel(model, train, settings, { progress: "none", log: () => {} });
    assert.equal(history.length, 3);
    assert.ok(history[2].trainCe < history[0].trainCe, `CE ${history.map((h) => h.trainCe)}`);
    assert.ok(history[2].trainAux < history[0].trainAux, `aux ${history.map((h) => h.trainAux)}`);
    assert.ok(Math.abs(history[0].loss - (history[0].trainCe + history[0].trainAux)) < 1e-3 * history[0].loss + 0.05);

    const target = { numClasses: 10, parameters: () => [] } as unknown as Classifier;
    const purify = { ...settings.purify, radii: 2, steps: 2 };
    const defense = new SoapDefense(target, model, "recon", purify);
    const dir = mkdtempSync(join(tmpdir(), "idfr-soap-"));
    defense.save(dir, { note: "test" });
    const loaded = loadSoapDefense(dir, target);
    assert.deepEqual(loaded.settings, purify);
    assert.equal(JSON.parse(readFileSync(join(dir, "soap.json"), "utf8")).version, 1);
    const x = tensor(cleanFloats(digits, [300, 2300, 5300, 8300]), [4, 1, 28, 28]);
    assert.equal(maxAbs(defense.logits(x), loaded.logits(x)), 0);
    assert.ok(defense.whiteboxModel === model);
  });
  it("pi with a ResNet on 1-channel data trains one step without error; a mismatched aux is refused", async () => {
    assert.throws(() => resolveSoapSettings({ model: "cae", aux: "pi" }, 1, 0), /soap\.aux: expected one of recon for model "cae", got "pi"/);
    const settings = resolveSoapSettings({ model: "resnet", aux: "pi", epochs: 1, batchSize: 32, trainImages: 32 }, 1, 0);
    const model = newSoapModel(cfg("resnet", [1, 28, 28]), 0);
    const small = limitSet(digits, 32, 4);
    const h = await trainSoapModel(model, small, settings, { progress: "none", log: () => {} });
    assert.ok(Number.isFinite(h[0].trainAux) && h[0].trainAux > 0);
  });
});

describe("SOAP adaptive attacks", () => {
  const model = newSoapModel(cfg("cae", [1, 28, 28]), 8).eval();
  const target = { numClasses: 10, parameters: () => [] } as unknown as Classifier;
  const defense = new SoapDefense(target, model, "recon", { delta: 0.1, stepSize: 0.1, steps: 1, radii: 1, select: "sample" });
  const x = images([3, 1, 28, 28], 9);
  const y = tensor(BigInt64Array.from([1n, 2n, 3n]), [3], "int64");
  it("attackForward is the purified logits forward and the identity backward through purification", () => {
    assert.ok(maxAbs(defense.attackForward(x), defense.logits(x)) < 1e-6);
    const purified = defense.purify(x);
    const viaPipeline = valueAndGrad((z) => F.crossEntropy(defense.attackForward(z), y, { reduction: "sum" }), x).grad;
    const atPurified = valueAndGrad((p) => F.crossEntropy(model.forward(p), y, { reduction: "sum" }), purified).grad;
    assert.ok(maxAbs(viaPipeline, atPurified) < 1e-6);
    assert.ok(tidy(() => viaPipeline.abs().sum().item()) > 0);
  });
  it("aux-aware BPDA: β = 0 is sign-gradient BPDA-PGD through attackForward; any β stays in the ε-ball and [0, 1]", () => {
    const o = { eps: 0.1, steps: 2, stepSize: 0.05, beta: 0 };
    let manual = x.clone();
    for (let t = 0; t < o.steps; t++) {
      const g = valueAndGrad((z) => F.crossEntropy(defense.attackForward(z), y, { reduction: "sum" }), manual).grad;
      manual = manual.add(g.sign().mul(o.stepSize)).clamp(x.sub(o.eps), x.add(o.eps)).clamp(0, 1);
    }
    assert.ok(maxAbs(auxAwareBpda(defense, x, y, o), manual) < 1e-6);
    const aware = auxAwareBpda(defense, x, y, { ...o, beta: 100 });
    assert.ok(maxAbs(aware, x) <= o.eps + 1e-6);
    assert.ok(maxAbs(aware, manual) > 0, "the aux term changed nothing");
    assert.throws(() => auxAwareBpda(defense, x, y, { ...o, steps: -1 }), /steps/);
  });
  it("the registry row: SOAP is attacked white-box on its own model and adaptively with BPDA", () => {
    const entry = defenseEntry("soap");
    assert.equal(entry.whitebox, "own");
    assert.equal(entry.adaptive, "bpda");
    assert.equal(entry.label, "SOAP");
    assert.equal(entry.group, "baseline");
  });
});

describe("the soap registry row end to end", () => {
  it("trains SOAP, and reports transfer, white-box and adaptive rows; BPDA is at least as strong as transfer", async () => {
    const out = mkdtempSync(join(tmpdir(), "idfr-soap-run-"));
    const config = parseExperiment({
      name: "soap-row",
      dataset: { name: "mnist", trainImages: 300 },
      targets: [{ arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, surrogate: { arch: "small-cnn", width: 0.25, epochs: 1, batchSize: 50, seed: 1 } }],
      defenses: ["none", "soap"],
      attacks: ["pgd"],
      attackOptions: { steps: 3 },
      eps: ["0.2"],
      threats: ["transfer", "whitebox", "adaptive"],
      adaptive: { attacks: ["pgd"], attackOptions: { steps: 3 } },
      soap: { epochs: 1, trainImages: 200, batchSize: 50, lr: 0.02, radii: 2, steps: 2 },
      evalImages: 20,
    });
    await runExperiment(config, { outDir: out, progress: "none" });
    const records = validateResults(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    const soap = (threat: string) => records.find((r) => r.defense === "soap" && r.threat === threat && r.attack === "pgd");
    for (const t of ["transfer", "whitebox", "adaptive"]) assert.ok(soap(t), `no soap ${t} row`);
    assert.ok(soap("adaptive")!.accuracy <= soap("transfer")!.accuracy, `adaptive ${soap("adaptive")!.accuracy} > transfer ${soap("transfer")!.accuracy}`);
    const clean = records.find((r) => r.defense === "soap" && r.threat === "clean")!;
    assert.equal(clean.n, 20);
    assert.ok(soap("adaptive")!.accuracy <= clean.accuracy);
  });
});
