/**
 * node --import tsx bench/soap.ts — SOAP speed: purification images/s (the authors' search: 11 radii
 * of 5 sign steps each, then the per-sample pick; the final classification not included), one BPDA
 * attack gradient (purify, then forward + backward through the SOAP model) in images/s, and joint
 * training images/s (one SGD step of CE + aux).
 *
 * SOAP's models are the same in both presets (the `cpu` preset trains fewer epochs on fewer
 * images), so the cases are the models at their data sizes: `cpu` = the conv autoencoder with
 * reconstruction on Fashion-MNIST 1x28x28 (also the authors' MNIST model); `paper` = the CIFAR-10
 * ResNet with label consistency (pi) and with rotation (rot), 3x32x32. Freshly initialised weights:
 * speed does not depend on their values. Each case: one warm-up, then the median of BENCH_REPS
 * (default 3) timed calls. Last line: one JSON object with every rate. BENCH_DEVICE (default cpu)
 * picks the device; BENCH_BATCH (default 32) the purification batch.
 */
import { availableParallelism, loadavg } from "node:os";
import { Rng } from "../src/data/random.js";
import { jointLoss, newSoapModel, resolveSoapSettings, SoapDefense, type SoapAuxName, type SoapModelName } from "../src/defenses/soap/index.js";
import { createClassifier } from "../src/models/registry.js";
import { Generator, getNumThreads, optim, rand, randint, tidy, valueAndGrad, F } from "../src/torch/index.js";
import { itemsPerSecond } from "./reference.js";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const DEVICE = process.env.BENCH_DEVICE ?? "cpu";
const BATCH = Number(process.env.BENCH_BATCH ?? 32);

interface Case {
  name: string;
  model: SoapModelName;
  aux: SoapAuxName;
  shape: [number, number, number];
}

const CASES: Case[] = [
  { name: "cpu cae/recon 1x28x28", model: "cae", aux: "recon", shape: [1, 28, 28] },
  { name: "paper resnet/pi 3x32x32", model: "resnet", aux: "pi", shape: [3, 32, 32] },
  { name: "paper resnet/rot 3x32x32", model: "resnet", aux: "rot", shape: [3, 32, 32] },
];

const rate = (n: number, fn: () => void): number => itemsPerSecond(n, REPS, fn);

const results: Record<string, number> = {};
console.log(`SOAP bench on ${DEVICE}: ${getNumThreads()} threads, ${availableParallelism()} cores, load ${loadavg()[0].toFixed(1)}`);
for (const c of CASES) {
  const settings = resolveSoapSettings({ model: c.model, aux: c.aux, preset: "paper" }, c.shape[0], 0);
  const model = newSoapModel({ model: c.model, rotation: c.aux === "rot", numClasses: 10, inputShape: c.shape, mean: new Array(c.shape[0]).fill(0), std: new Array(c.shape[0]).fill(1) }, 0).to(DEVICE);
  const target = createClassifier("small-cnn", { numClasses: 10, inputShape: c.shape }).to(DEVICE).eval();
  const defense = new SoapDefense(target, model, c.aux, settings.purify);
  const g = new Generator(1, DEVICE);
  const x = rand([BATCH, ...c.shape], { generator: g });
  const y = randint(0, 10, [BATCH], { generator: g });
  const purify = rate(BATCH, () => defense.purify(x).dispose());
  const attack = rate(BATCH, () => tidy(() => { valueAndGrad((z) => F.crossEntropy(defense.attackForward(z), y), x); }));
  const trainBatch = settings.batchSize;
  const xt = rand([trainBatch, ...c.shape], { generator: g });
  const yt = randint(0, 10, [trainBatch], { generator: g });
  const sgd = new optim.SGD(model.parameters(), { lr: 1e-3, momentum: 0.9, weightDecay: 1e-4 });
  const rng = new Rng(0);
  const train = rate(trainBatch, () => tidy(() => {
    model.train();
    sgd.zeroGrad();
    jointLoss(model, c.aux, xt, yt, 1, g, rng).loss.backward();
    sgd.step();
    model.eval();
  }));
  console.log(`${c.name}: purify ${purify.toFixed(1)} img/s (δ ${settings.purify.delta.toFixed(4)}, ${settings.purify.radii} radii x ${settings.purify.steps} steps), ` +
    `BPDA gradient ${attack.toFixed(1)} img/s, joint training ${train.toFixed(1)} img/s (batch ${trainBatch})`);
  results[`${c.name} purify`] = purify;
  results[`${c.name} bpda`] = attack;
  results[`${c.name} train`] = train;
  sgd.dispose();
  model.dispose();
  g.dispose();
}
console.log(JSON.stringify(results));
