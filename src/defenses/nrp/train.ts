/**
 * Training NRP's purifier, self-supervised (labels are never read): per batch, make the SSP x' of
 * the clean images x on the fly, then update the purifier P on
 *   advWeight * L_adv + pixelWeight * MSE(P(x'), x) + featureWeight * L1(F(P(x')), F(x)),
 * with the relativistic adversarial loss L_adv = -log σ(C(P(x')) - C(x)) against the critic C, and
 * then the critic on -log σ(C(x) - C(P(x'))): the two alternate, purifier first, as in ESRGAN's
 * loop. F is the frozen target's embedding (see ./config.ts). Both networks, both optimisers and
 * the history are checkpointed after every epoch by the shared training loop.
 */
import { deriveSeed } from "../../core/seeds.js";
import { Rng } from "../../data/random.js";
import { cleanFloats } from "../../data/tensors.js";
import type { ImageSet } from "../../data/types.js";
import type { Classifier } from "../../models/classifier.js";
import { withFrozenAsync } from "../../models/freeze.js";
import { weightsFingerprint } from "../../models/io.js";
import { F, Generator, nn, noGrad, optim, tensor, tidy, type Tensor } from "../../torch/index.js";
import { indexBatches } from "../../train/batches.js";
import { dataIdentity } from "../../train/data-identity.js";
import { onDevice, runDevice } from "../../train/device.js";
import { runTrainLoop, type LoopRecord } from "../../train/loop.js";
import type { RunContext } from "../../core/context.js";
import type { NrpTrainConfig } from "./config.js";
import { makePurifier, NrpCritic } from "./networks.js";
import { selfSupervisedPerturbation } from "./ssp.js";

/** The first part of every NRP seed path (below the run's seed), so its streams are its own. */
export const NRP_STREAM = 0x4e5250;
/** The second part: what the stream draws. */
export const NRP_DRAWS = { weights: 0, order: 1, ssp: 2, dynamic: 3 } as const;

/** The purifier and its critic as one module, so that one checkpoint holds both. */
export class NrpPair extends nn.Module {
  readonly purifier: nn.Module;
  readonly critic: NrpCritic;
  constructor(purifier: nn.Module, critic: NrpCritic) {
    super();
    this.purifier = this.registerModule("purifier", purifier);
    this.critic = this.registerModule("critic", critic);
  }
  forward(x: Tensor): Tensor {
    return this.purifier.forward(x);
  }
}

/** -log σ(z), averaged: softplus(-z) computed stably as relu(-z) + log(1 + exp(-|z|)). */
export function negLogSigmoidMean(z: Tensor): Tensor {
  return tidy(() => z.neg().relu().add(z.abs().neg().exp().add(1).log()).mean());
}

/** The parts of one purifier step, for logs and tests. */
export interface NrpStepLosses {
  total: number;
  adversarial: number;
  pixel: number;
  feature: number;
  critic: number;
}

/** Where the training runs and writes (outDir for nrp-checkpoint.safetensors and nrp-log.jsonl), and the data's name. */
export interface NrpTrainRun extends Partial<RunContext> {
  dataset?: string;
  /** Called after every step with its losses. */
  onStep?: (losses: NrpStepLosses) => void;
}

/** Trains a new purifier (and critic) for `target` on the images of `train`. The target is frozen throughout. */
export async function trainNrp(target: Classifier, train: ImageSet, config: NrpTrainConfig, run: NrpTrainRun = {}):
  Promise<{ purifier: nn.Module; history: LoopRecord[] }> {
  const device = runDevice(run.device);
  const [channels, h, w] = target.inputShape;
  if (train.shape[1] !== channels || train.shape[2] !== h || train.shape[3] !== w) {
    throw new RangeError(`NRP training: the images are [${train.shape.slice(1)}], the target takes [${target.inputShape}]`);
  }
  const seeds = (draw: number, ...path: number[]) => deriveSeed(config.seed, NRP_STREAM, draw, ...path);
  const init = new Generator(seeds(NRP_DRAWS.weights));
  const pair = nn.init.withInitGenerator(init, () => new NrpPair(
    makePurifier(config.arch, { channels, nf: config.nf, nb: config.nb, gc: config.gc }),
    new NrpCritic(channels, config.criticNf, Math.min(h, w)))).to(device);
  init.dispose();
  const adamP = new optim.Adam(pair.purifier.parameters(), { lr: config.lr, betas: config.betas });
  const adamC = new optim.Adam(pair.critic.parameters(), { lr: config.lr, betas: config.betas });
  const features = (x: Tensor) => target.embed(x);
  const n = train.shape[0];
  let order: Uint32Array = new Uint32Array(0);
  const draws: { ssp: Generator | null } = { ssp: null };
  try {
    const history = await withFrozenAsync(target, () => runTrainLoop({
      label: "train NRP", name: "nrp", epochs: config.epochs, batches: indexBatches(Math.ceil(n / config.batchSize)),
      module: pair, optimizer: adamP, ctx: run, finishedFile: "nrp.json",
      settings: { ...config, target: target.arch, targetWeights: weightsFingerprint(target), ...dataIdentity(train, run.dataset) },
      extraState: {
        save: () => new Map([...adamC.stateDict()].map(([k, v]) => [`critic.${k}`, v])),
        load: (t) => adamC.loadStateDict(new Map([...t].filter(([k]) => k.startsWith("critic.")).map(([k, v]) => [k.slice(7), v])), adamP.stepCount),
      },
      beginEpoch: (epoch) => {
        order = new Rng(seeds(NRP_DRAWS.order, epoch)).permutation(n);
        draws.ssp?.dispose();
        draws.ssp = new Generator(seeds(NRP_DRAWS.ssp, epoch), device);
      },
      step: (b) => tidy(() => {
        const rows = order.subarray(b * config.batchSize, (b + 1) * config.batchSize);
        const x = onDevice(tensor(cleanFloats(train, rows), [rows.length, channels, h, w]), device);
        const adv = selfSupervisedPerturbation(features, x, { eps: config.eps, steps: config.sspSteps, stepSize: config.sspStepSize, generator: draws.ssp! });
        const losses = nrpStep(pair, adamP, adamC, features, x, adv, config);
        run.onStep?.(losses);
        return { loss: losses.total, n: rows.length };
      }),
    }));
    return { purifier: pair.purifier, history };
  } finally {
    adamP.dispose();
    adamC.dispose();
    draws.ssp?.dispose();
  }
}

/** One alternation: a purifier step on its hybrid loss, then a critic step on the relativistic loss. */
export function nrpStep(pair: NrpPair, adamP: optim.Optimizer, adamC: optim.Optimizer, features: (x: Tensor) => Tensor, x: Tensor, adv: Tensor,
  weights: Pick<NrpTrainConfig, "advWeight" | "pixelWeight" | "featureWeight">): NrpStepLosses {
  return tidy(() => {
    const { purifier, critic } = pair;
    adamP.zeroGrad();
    const purified = purifier.forward(adv);
    const real = noGrad(() => critic.forward(x));
    const adversarial = negLogSigmoidMean(critic.forward(purified).sub(real));
    const pixel = F.mseLoss(purified, x);
    const feature = F.l1Loss(features(purified), noGrad(() => features(x)));
    const total = adversarial.mul(weights.advWeight).add(pixel.mul(weights.pixelWeight)).add(feature.mul(weights.featureWeight));
    total.backward();
    adamP.step();
    adamC.zeroGrad();
    const criticLoss = negLogSigmoidMean(critic.forward(x).sub(critic.forward(purified.detach())));
    criticLoss.backward();
    adamC.step();
    return { total: total.item(), adversarial: adversarial.item(), pixel: pixel.item(), feature: feature.item(), critic: criticLoss.item() };
  });
}
