/**
 * Training ComDefend as the authors' TensorFlow code does (Train_comdefend_TF.py, `r(ep=1,
 * cnoise=20.0)`): the images are shuffled once per epoch and taken 20 at a time; per batch,
 * b = sigmoid(ComCNN(x) − N(0, 20²)), y = RecCNN(b), and Adam (lr 1e-3) minimises
 * mean((y − x)²) + 1e-4 · mean(b²). The large noise pushes the code away from zero, so that the
 * threshold at inference changes little. No labels and no classifier are involved. The one
 * training loop (src/train/loop.ts) gives checkpoints, resume, progress and Ctrl-C.
 */
import type { RunContext } from "../../core/context.js";
import { deriveSeed } from "../../core/seeds.js";
import { Rng } from "../../data/random.js";
import { cleanFloats } from "../../data/tensors.js";
import type { ImageSet } from "../../data/types.js";
import { F, Generator, nn, optim, randnLike, tensor, tidy, type Tensor } from "../../torch/index.js";
import { indexBatches } from "../../train/batches.js";
import { dataIdentity } from "../../train/data-identity.js";
import { onDevice, runDevice } from "../../train/device.js";
import { runTrainLoop, type LoopRecord } from "../../train/loop.js";
import type { ComDefendSettings } from "./config.js";
import { ComDefendNets, variantFor } from "./networks.js";

/** The settings training reads (the rest only matter at inference). */
export type ComDefendTrainSettings = Pick<ComDefendSettings, "epochs" | "batchSize" | "lr" | "trainNoise" | "codePenalty"> & { seed: number };

/**
 * Streams below a training seed (deriveSeed paths, under a root of their own so that they differ
 * from other streams of the same seed), so each draw has a generator of its own.
 */
const ROOT = 0x434f4d44; // "COMD"
const STREAM = { weights: 1, order: 2, noise: 3 } as const;

/** The training loss of one batch: MSE(y, x) + penalty · mean(b²), b the relaxed code. */
export function comdefendLoss(nets: ComDefendNets, x: Tensor, trainNoise: number, codePenalty: number, generator: Generator): Tensor {
  const code = nets.com.forward(x);
  const noisy = trainNoise > 0 ? code.sub(randnLike(code, { generator }).mul(trainNoise)) : code;
  const b = noisy.sigmoid();
  const y = nets.rec.forward(b);
  return F.mseLoss(y, x).add(b.square().mean().mul(codePenalty));
}

/**
 * Trains new ComDefend networks on `images` (their channel count picks the variant). With
 * `run.outDir`, the loop checkpoints there after each epoch (comdefend-checkpoint.safetensors,
 * comdefend-log.jsonl) and resumes from it when `run.resume` is set.
 */
export async function trainComDefend(images: ImageSet, settings: ComDefendTrainSettings, run: Partial<RunContext> & { dataset?: string } = {}):
  Promise<{ nets: ComDefendNets; history: LoopRecord[] }> {
  const device = runDevice(run.device);
  const variant = variantFor(images.shape[1]);
  const init = new Generator(deriveSeed(settings.seed, ROOT, STREAM.weights));
  const nets = nn.init.withInitGenerator(init, () => new ComDefendNets(variant)).to(device);
  init.dispose();
  const adam = new optim.Adam(nets.parameters(), { lr: settings.lr });
  const n = images.shape[0];
  const batchSize = settings.batchSize;
  let order: Uint32Array = new Uint32Array(0);
  const draws: { generator: Generator | null } = { generator: null };
  try {
    const history = await runTrainLoop({
      label: "train ComDefend", name: "comdefend", epochs: settings.epochs, batches: indexBatches(Math.ceil(n / batchSize)),
      module: nets, optimizer: adam, ctx: run,
      settings: { ...settings, variant, ...dataIdentity(images, run.dataset) },
      beginEpoch: (epoch) => {
        order = new Rng(deriveSeed(settings.seed, ROOT, STREAM.order, epoch)).permutation(n);
        draws.generator?.dispose();
        draws.generator = new Generator(deriveSeed(settings.seed, ROOT, STREAM.noise, epoch), device);
      },
      step: (b) => tidy(() => {
        const rows = order.subarray(b * batchSize, (b + 1) * batchSize);
        const x = onDevice(tensor(cleanFloats(images, rows), [rows.length, ...images.shape.slice(1)]), device);
        adam.zeroGrad();
        const loss = comdefendLoss(nets, x, settings.trainNoise, settings.codePenalty, draws.generator!);
        loss.backward();
        adam.step();
        return { loss: loss.item(), n: rows.length };
      }),
    });
    return { nets, history };
  } finally {
    adam.dispose();
    draws.generator?.dispose();
  }
}
