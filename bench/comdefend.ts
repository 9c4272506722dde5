/**
 * node --import tsx bench/comdefend.ts — ComDefend speed: purification images/s (ComCNN, noisy
 * binary code, RecCNN; the classifier not included), one BPDA attack gradient (forward + backward
 * through both networks and a small CNN target) in images/s, and training images/s (one Adam step
 * of the authors' recipe).
 *
 * ComDefend's networks are the same in both presets (the `cpu` preset only trains on fewer images),
 * so the sizes are the images: `cpu` = Fashion-MNIST 1x28x28 (grey variant); `paper` = CIFAR-10
 * 3x32x32 (RGB variant, the authors' training set) and ImageNet 3x224x224 cut into 32x32 tiles (the
 * authors' ImageNet path). Freshly initialised weights: speed does not depend on their values.
 * Each case: one warm-up, then the median of BENCH_REPS (default 3) timed calls. Last line: one
 * JSON object with every rate. BENCH_DEVICE (default cpu) picks the device.
 */
import { availableParallelism, loadavg } from "node:os";
import { ComDefendDefense, ComDefendNets, comdefendLoss, CPU_TRAIN_IMAGES } from "../src/defenses/comdefend/index.js";
import { createClassifier } from "../src/models/registry.js";
import { Generator, getNumThreads, nn, optim, rand, tidy } from "../src/torch/index.js";
import { itemsPerSecond } from "./reference.js";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const DEVICE = process.env.BENCH_DEVICE ?? "cpu";

interface Case {
  name: string;
  shape: [number, number, number];
  batch: number;
  patch: number;
  /** Training images of an epoch at this size, for the epoch-time estimate (0: not trained at this size). */
  epochImages: number[];
}

const CASES: Case[] = [
  { name: "cpu 1x28x28", shape: [1, 28, 28], batch: 20, patch: 0, epochImages: [CPU_TRAIN_IMAGES, 60000] },
  { name: "paper 3x32x32", shape: [3, 32, 32], batch: 20, patch: 0, epochImages: [50000] },
  { name: "paper 3x224x224 (32x32 tiles)", shape: [3, 224, 224], batch: 1, patch: 32, epochImages: [] },
];

const rate = (c: Case, fn: () => void): number => itemsPerSecond(c.batch, REPS, fn);

const results: Record<string, number> = {};
console.log(`ComDefend bench on ${DEVICE}: ${getNumThreads()} threads, ${availableParallelism()} cores, load ${loadavg()[0].toFixed(1)}`);
for (const c of CASES) {
  const [ch, h, w] = c.shape;
  const g = new Generator(0);
  const nets = nn.init.withInitGenerator(g, () => new ComDefendNets(ch === 3 ? "rgb" : "grey")).to(DEVICE);
  const target = createClassifier("small-cnn", { numClasses: 10, inputShape: c.shape }).to(DEVICE).eval();
  const defense = new ComDefendDefense(target, new ComDefendNets(nets.variant).to(DEVICE), { patch: c.patch, generator: new Generator(1, DEVICE) });
  defense.nets.loadStateDict(nets.stateDict());
  const x = rand([c.batch, ch, h, w], { generator: g }).to(DEVICE);
  const purify = rate(c, () => defense.purify(x).dispose());
  const attack = rate(c, () => tidy(() => {
    const xg = x.clone().requiresGrad_(true);
    defense.attackForward(xg).sum().backward();
  }));
  results[`${c.name} purify img/s`] = purify;
  results[`${c.name} attack-gradient img/s`] = attack;
  let line = `${c.name}: purify ${purify.toFixed(1)} img/s, attack gradient ${attack.toFixed(1)} img/s`;
  if (c.epochImages.length > 0) {
    const adam = new optim.Adam(nets.parameters(), { lr: 1e-3 });
    const noise = new Generator(2, DEVICE);
    const train = rate(c, () => tidy(() => {
      adam.zeroGrad();
      const loss = comdefendLoss(nets, x, 20, 1e-4, noise);
      loss.backward();
      adam.step();
    }));
    results[`${c.name} train img/s`] = train;
    line += `, training ${train.toFixed(1)} img/s (one epoch: ${c.epochImages.map((n) => `${n} images ≈ ${(n / train / 60).toFixed(1)} min`).join(", ")})`;
  }
  console.log(line);
}
console.log(JSON.stringify(results));
