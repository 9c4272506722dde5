/**
 * Algorithm 2: training the feature restorer with the ID frozen. The target's embeddings of ID
 * outputs (AEs and Gaussian-augmented clean images) are split by its head into X (correct) and X̃
 * (wrong); same-label pairs are mixed as α·h + (1 − α)·h̃, α ~ U(0, 1), and the FR minimises
 * CE(f_cls(FR(mix)), y) through the frozen head (Eq. 6). Adam.
 */
import { Rng } from "../../data/random.js";
import type { ImageSet } from "../../data/types.js";
import type { Classifier } from "../../models/classifier.js";
import { accuracyOverRanks } from "../../models/evaluate-ranks.js";
import { withFrozen, withFrozenAsync } from "../../models/freeze.js";
import { F, Generator, keep, nn, noGrad, optim, tensor, tidy, type Tensor } from "../../torch/index.js";
import { seedFor } from "../../core/seeds.js";
import { localRows } from "../../distributed/data-parallel.js";
import { catRowsOverRanks, gatherSharesInPlace, myShare } from "../../distributed/shard.js";
import { indexBatches } from "../../train/batches.js";
import { weightsFingerprint } from "../../models/io.js";
import { dataIdentity } from "../../train/data-identity.js";
import { onDevice, runDevice } from "../../train/device.js";
import { runTrainLoop, type LoopRecord } from "../../train/loop.js";
import { checkFrConfig, type FrConfig } from "./config.js";
import type { InputDenoiser } from "./denoiser.js";
import { makePairs, type Pairs } from "./pairing.js";
import { FeatureRestorer } from "./restorer.js";
import type { IdfrTrainRun } from "./train-id.js";
import { AugmentedSet, type AdversarialRows } from "./training-data.js";
import { adaptivePgd } from "./adaptive.js";
import { cleanFloats, labelTensor } from "../../data/tensors.js";
import { imageSize } from "../../data/types.js";

/** Embeddings h = f_enc(ID(x)) of every row, with labels, twins and the head's verdict. */
export interface EmbeddedSet {
  embeddings: Tensor;
  labels: Int32Array;
  correct: Uint8Array;
  twin: Int32Array;
}

/**
 * Embeds every row of an augmented set through the frozen ID and encoder (Algorithm 2's input), on
 * `device`; the Gaussian copies' noise comes from `generator` (default the global generator).
 */
export function embedRows(target: Classifier, denoiser: InputDenoiser, data: AugmentedSet, batchSize = 256, device = "cpu",
  generator?: Generator): EmbeddedSet {
  const parts: Tensor[] = [];
  const correct = new Uint8Array(data.size);
  const labels = new Int32Array(data.size);
  const twin = new Int32Array(data.size);
  // With WORLD_SIZE > 1 each rank embeds its share of the batches; the others' it only draws the noise of,
  // so its generator is where one process's would be. The embeddings are then gathered.
  const share = myShare(Math.ceil(data.size / batchSize));
  for (let start = 0, b = 0; start < data.size; start += batchSize, b++) {
    const rows = Uint32Array.from({ length: Math.min(batchSize, data.size - start) }, (_, k) => start + k);
    rows.forEach((r) => {
      labels[r] = data.clean.labels[data.source(r)];
      // The AE of image i (row i) and its first Gaussian copy (row n + i) are twins.
      twin[r] = data.gaussianRounds === 0 || data.adversarialCount === 0 ? -1 : r < data.n ? r + data.n : r < 2 * data.n ? r - data.n : -1;
    });
    if (b < share.start || b >= share.start + share.count) {
      tidy(() => data.batch(rows, false, generator));
      continue;
    }
    const [h, ok] = tidy(() => noGrad(() => {
      const { x, y } = data.batch(rows, false, generator);
      const emb = target.embed(denoiser.forward(onDevice(x, device)));
      return [keep(emb), target.head(emb).argmax(1).eq(onDevice(y, device)).toArray()] as const;
    }));
    parts.push(h);
    rows.forEach((r, k) => (correct[r] = ok[k]));
  }
  const firstRow = share.start * batchSize;
  gatherSharesInPlace(correct, firstRow, Math.max(0, Math.min(data.size, (share.start + share.count) * batchSize) - firstRow));
  const embeddings = catRowsOverRanks(parts, target.embeddingDim, device);
  for (const p of parts) p.dispose();
  return { embeddings: keep(embeddings), labels, correct, twin };
}

/**
 * Trains a new restorer for `target` behind a trained denoiser (Algorithm 2). The target and the
 * denoiser must be on `run.device` already.
 */
export async function trainRestorer(target: Classifier, denoiser: InputDenoiser, train: ImageSet, adversarial: AdversarialRows, config: FrConfig,
  run: IdfrTrainRun = {}): Promise<{ restorer: FeatureRestorer; history: LoopRecord[]; split: { correct: number; wrong: number } }> {
  checkFrConfig(config);
  const device = runDevice(run.device);
  denoiser.eval();
  const data = new AugmentedSet(train, adversarial, config.gaussianRounds, config.sigma);
  // One stream, in this order: the Gaussian copies' noise, then the restorer's initial weights.
  const draws = new Generator(seedFor.weights(config.seed));
  let embedded = withFrozen(target, () => embedRows(target, denoiser, data, 256, device, draws));
  const restorer = nn.init.withInitGenerator(draws, () => new FeatureRestorer(target.embeddingDim)).to(device);
  draws.dispose();
  const adam = new optim.Adam(restorer.parameters(), { lr: config.lr });
  const numClasses = target.numClasses;
  let pairs: Pairs = { first: new Int32Array(0), second: new Int32Array(0), alpha: new Float32Array(0) };
  let order: Uint32Array = new Uint32Array(0);
  const expectedPairs = makePairs({ ...embedded, numClasses }, config.pairing, new Rng(config.seed)).first.length;
  const steps = Math.max(1, Math.ceil(expectedPairs / config.batchSize));
  try {
    const history = await withFrozenAsync(target, () => runTrainLoop({
      label: "train FR", name: "fr", epochs: config.epochs, batches: indexBatches(steps), module: restorer, optimizer: adam, ctx: run,
      settings: { ...config, target: target.arch, targetWeights: weightsFingerprint(target), ...dataIdentity(train, run.dataset) },
      beginEpoch: (epoch) => {
        if (adversarial === "craft") {
          // The adaptive adversary: this epoch's AEs are crafted through the ID, the current FR and
          // the target, and every row is embedded anew.
          const fresh = withFrozen(target, () => adaptiveRestorerRows(target, denoiser, restorer, train, config, epoch, device));
          embedded.embeddings.dispose();
          embedded = fresh;
        }
        const rng = new Rng(seedFor.frPairs(config.seed, epoch));
        pairs = makePairs({ ...embedded, numClasses }, config.pairing, rng);
        order = rng.permutation(pairs.first.length);
      },
      step: (b) => tidy(() => {
        const idx = order.subarray(b * config.batchSize, (b + 1) * config.batchSize);
        if (idx.length === 0) return { loss: 0, n: 0 };
        const first = onDevice(tensor(BigInt64Array.from(idx, (k) => BigInt(pairs.first[k])), [idx.length], "int64"), device);
        const second = onDevice(tensor(BigInt64Array.from(idx, (k) => BigInt(pairs.second[k])), [idx.length], "int64"), device);
        const alpha = onDevice(tensor(Float32Array.from(idx, (k) => pairs.alpha[k]), [idx.length, 1]), device);
        const y = onDevice(tensor(BigInt64Array.from(idx, (k) => BigInt(embedded.labels[pairs.first[k]])), [idx.length], "int64"), device);
        const h = embedded.embeddings.indexSelect(0, first).mul(alpha).add(embedded.embeddings.indexSelect(0, second).mul(alpha.rsub(1)));
        adam.zeroGrad();
        const loss = F.crossEntropy(target.head(restorer.forward(localRows(h))), localRows(y));
        loss.backward();
        adam.step();
        return { loss: loss.item(), n: idx.length };
      }),
      validate: run.val ? () => {
        const val = run.val!;
        const defended = (x: Tensor) => target.head(restorer.forward(target.embed(denoiser.forward(x))));
        return { cleanAcc: accuracyOverRanks(defended, val.clean, null, { device }), advAcc: accuracyOverRanks(defended, val.clean, val.adversarial, { device }) };
      } : undefined,
    }));
    const correct = embedded.correct.reduce((a, b) => a + b, 0);
    return { restorer, history, split: { correct, wrong: embedded.correct.length - correct } };
  } finally {
    adam.dispose();
    embedded.embeddings.dispose();
  }
}

/**
 * Algorithm 2's rows for one epoch of the adaptive adversary: PGD AEs of every training image made
 * through ID, the current FR and the frozen target (radii cycled as the ID's), then embedded with
 * the epoch's Gaussian copies.
 */
function adaptiveRestorerRows(target: Classifier, denoiser: InputDenoiser, restorer: FeatureRestorer, train: ImageSet, config: FrConfig,
  epoch: number, device: string): EmbeddedSet {
  const n = train.shape[0];
  const size = imageSize(train.shape);
  const aes = new Float32Array(n * size);
  const eps = config.trainEps;
  const pipeline = (z: Tensor) => target.head(restorer.forward(target.embed(denoiser.forward(z))));
  restorer.eval();
  try {
    for (let start = 0; start < n; start += 256) {
      const idx = Array.from({ length: Math.min(256, n - start) }, (_, k) => start + k);
      const adv = tidy(() => {
        const x = onDevice(tensor(cleanFloats(train, idx), [idx.length, ...train.shape.slice(1)]), device);
        const y = onDevice(labelTensor(train, idx), device);
        return adaptivePgd(pipeline, x, y, { eps: idx.map((i) => eps[i % eps.length]), steps: config.adaptiveSteps,
          sampleIds: idx.map((i) => i * 1000 + epoch), seed: seedFor.weights(config.seed) }).to("cpu").toTypedArray() as Float32Array;
      });
      aes.set(adv, start * size);
    }
  } finally {
    restorer.train(true);
  }
  const data = new AugmentedSet(train, aes, config.gaussianRounds, config.sigma);
  const draws = new Generator(seedFor.epochDraws(config.seed, epoch));
  try {
    return embedRows(target, denoiser, data, 256, device, draws);
  } finally {
    draws.dispose();
  }
}
