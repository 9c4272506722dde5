/**
 * Training ADP's score network by denoising score matching over a geometric σ ladder (NCSNv2's
 * `anneal_dsm_score_estimation` with anneal power 2). With the network's raw output r (the score
 * times σ, since ADP does not divide by σ), NCSNv2's loss ½ σ² |r/σ + ε/σ|² for x̃ = x + σε becomes
 * ½ |r(x̃) + ε|² summed over pixels and averaged over the batch: the raw output learns -ε. A σ index is
 * drawn uniformly per image. Adam (β₁ 0.9, ε 1e-8, no weight decay), as the authors' NCSNv2 config.
 */
import { deriveSeed } from "../../core/seeds.js";
import type { RunContext } from "../../core/context.js";
import { Rng } from "../../data/random.js";
import { cleanFloats } from "../../data/tensors.js";
import type { ImageSet } from "../../data/types.js";
import { Generator, nn, optim, randint, randn, tensor, tidy, type Tensor } from "../../torch/index.js";
import { indexBatches } from "../../train/batches.js";
import { dataIdentity } from "../../train/data-identity.js";
import { onDevice, runDevice } from "../../train/device.js";
import { runTrainLoop, type LoopRecord } from "../../train/loop.js";
import type { AdpTrainSettings } from "./config.js";
import { geometricSigmas, ScoreNet } from "./score-net.js";

/** Seed streams of ADP training, below the run's seed. */
const STREAM = { weights: 0xad0, order: 0xad1, draws: 0xad2 } as const;

/** The DSM loss of a batch x (in [0, 1]) with per-image σ indices drawn from `generator`. */
export function dsmLoss(net: ScoreNet, x: Tensor, generator?: Generator): Tensor {
  return tidy(() => {
    const n = x.size(0);
    const labels = randint(0, net.sigmas.size(0), [n], { generator, device: x.device });
    const sigma = net.sigmas.indexSelect(0, labels).reshape([n, 1, 1, 1]);
    const eps = randn(x.shape, { generator, device: x.device });
    const out = net.forward(x.add(eps.mul(sigma)));
    return out.add(eps).square().flatten(1).sum(1).mul(0.5).mean();
  });
}

/** A new score network for `channels`-channel images with the settings' width and ladder. */
export function buildScoreNet(channels: number, s: Pick<AdpTrainSettings, "ngf" | "sigmaBegin" | "sigmaEnd" | "numSigmas">, seed: number): ScoreNet {
  const init = new Generator(deriveSeed(seed, STREAM.weights));
  try {
    return nn.init.withInitGenerator(init, () => new ScoreNet({ channels, ngf: s.ngf, sigmas: geometricSigmas(s.sigmaBegin, s.sigmaEnd, s.numSigmas) }));
  } finally {
    init.dispose();
  }
}

/**
 * Trains a new score network on `train` (labels unused) through the project's training loop:
 * checkpoints in ctx.outDir as adp-checkpoint.safetensors, resume, progress, Ctrl-C.
 */
export async function trainScoreNet(train: ImageSet, s: AdpTrainSettings, seed: number, ctx: Partial<RunContext> & { dataset?: string } = {}):
  Promise<{ net: ScoreNet; history: LoopRecord[] }> {
  const device = runDevice(ctx.device);
  const net = buildScoreNet(train.shape[1], s, seed).to(device);
  const adam = new optim.Adam(net.parameters(), { lr: s.lr, betas: [0.9, 0.999], eps: 1e-8 });
  const n = train.shape[0];
  const batches = Math.ceil(n / s.batchSize);
  let order: Uint32Array = new Uint32Array(0);
  const draws: { g: Generator | null } = { g: null };
  try {
    const history = await runTrainLoop({
      label: "train ADP score network", name: "adp", epochs: s.epochs, batches: indexBatches(batches), module: net, optimizer: adam, ctx,
      settings: { ...s, seed, channels: train.shape[1], ...dataIdentity(train, ctx.dataset) },
      beginEpoch: (epoch) => {
        order = new Rng(deriveSeed(seed, STREAM.order, epoch)).permutation(n);
        draws.g?.dispose();
        draws.g = new Generator(deriveSeed(seed, STREAM.draws, epoch), device);
      },
      step: (b) => tidy(() => {
        const rows = order.subarray(b * s.batchSize, (b + 1) * s.batchSize);
        const x = onDevice(tensor(cleanFloats(train, rows), [rows.length, ...train.shape.slice(1)]), device);
        adam.zeroGrad();
        const loss = dsmLoss(net, x, draws.g!);
        loss.backward();
        adam.step();
        return { loss: loss.item(), n: rows.length };
      }),
    });
    net.eval();
    return { net, history };
  } finally {
    adam.dispose();
    draws.g?.dispose();
  }
}
