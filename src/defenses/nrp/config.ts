/**
 * The `nrp` section of an experiment config: how NRP's purifier is built and trained, and how it
 * purifies. `preset` fills every key left out: "paper" is the authors' purifier (NRP, nf 64, 23
 * RRDB blocks, gc 32) with the SSP of their `ssp.py` (100 sign steps of 0.01 from a random start,
 * ε 16/255) and the optimiser of ESRGAN, which their purifier code comes from (Adam 1e-4, betas
 * 0.9/0.99, batch 16): the repository publishes no training script. "cpu" (the default) trains in
 * minutes on two cores on (Fashion-)MNIST: nf 16, 2 RRDB blocks, gc 8, a critic of width 16, 10 SSP
 * steps, Adam 1e-3, 2 epochs on 3,000 images.
 *
 * One deviation whatever the preset: the feature space of the SSP and of the feature loss is the
 * target's own embedding (its encoder's output), not ImageNet VGG16's conv3_3 features, which need
 * ImageNet weights that a (Fashion-)MNIST run does not have.
 */
import { z } from "zod";
import { radiusSchema } from "../../core/validate.js";
import type { PurifierArch } from "./networks.js";

export const NRP_PRESETS = ["cpu", "paper"] as const;
export type NrpPreset = (typeof NRP_PRESETS)[number];

export const NrpSettingsSchema = z.strictObject({
  preset: z.enum(NRP_PRESETS).default("cpu").describe("fills the keys left out: \"paper\" (the authors' NRP, nf 64, nb 23, gc 32, SSP of 100 steps) or \"cpu\" (nf 16, nb 2, gc 8, 10 SSP steps, 2 epochs on 3,000 images)"),
  arch: z.enum(["nrp", "nrp-resg"]).optional().describe("purifier: \"nrp\" (RRDB trunk, the authors' NRP) or \"nrp-resg\" (residual generator, their NRP_resG)"),
  nf: z.number().int().positive().optional().describe("purifier trunk width (paper 64; cpu 16)"),
  nb: z.number().int().positive().optional().describe("purifier blocks: RRDBs or residual blocks (paper 23; cpu 2)"),
  gc: z.number().int().positive().optional().describe("growth channels of the dense convs, NRP only (paper 32; cpu 8)"),
  criticNf: z.number().int().positive().optional().describe("first width of the ESRGAN-style critic (paper 64; cpu 16)"),
  epochs: z.number().int().positive().optional().describe("training epochs over the training images (paper 10; cpu 2)"),
  batchSize: z.number().int().positive().optional().describe("training batch size (paper 16, ESRGAN's; cpu 32)"),
  lr: z.number().positive().optional().describe("Adam learning rate of purifier and critic (paper 1e-4, ESRGAN's; cpu 1e-3)"),
  trainImages: z.number().int().positive().optional().describe("training images the purifier sees, classes balanced; labels are never used (paper: all; cpu 3000)"),
  sspSteps: z.number().int().positive().optional().describe("sign steps of the self-supervised perturbation made per batch (paper 100, ssp.py; cpu 10)"),
  sspStepSize: z.number().positive().optional().describe("step of the self-supervised perturbation on the [0, 1] scale (ssp.py: 0.01)"),
  eps: radiusSchema().default(16 / 255).describe("radius of the self-supervised perturbation (the authors': 16/255)"),
  advWeight: z.number().nonnegative().default(5e-3).describe("weight of the relativistic adversarial loss (the authors': 5e-3)"),
  pixelWeight: z.number().nonnegative().default(1e-2).describe("weight of MSE(P(x'), x) (the authors': 1e-2)"),
  featureWeight: z.number().nonnegative().default(1).describe("weight of L1(F(P(x')), F(x)) (the authors': 1)"),
  features: z.enum(["target-embedding"]).default("target-embedding").describe("feature space F of the SSP and the feature loss: the target's embedding (a deviation: the authors use ImageNet VGG16 conv3_3 features)"),
  dynamicNoise: z.number().nonnegative().default(0.05).describe("std of the Gaussian noise of dynamic inference (nrp-dynamic; the authors': 0.05)"),
  dynamicEps: radiusSchema().default(16 / 255).describe("radius the noisy input of dynamic inference is projected back into (the authors': 16/255)"),
  seed: z.number().int().nonnegative().optional().describe("seed of the weights, the data order and the SSP starts (default: the experiment's)"),
});
export type NrpSettings = z.output<typeof NrpSettingsSchema>;

/** Everything that decides a trained purifier, every key filled in. */
export interface NrpTrainConfig {
  preset: NrpPreset;
  arch: PurifierArch;
  nf: number;
  nb: number;
  gc: number;
  criticNf: number;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Adam's betas (ESRGAN's 0.9, 0.99). */
  betas: [number, number];
  trainImages: number | null;
  sspSteps: number;
  sspStepSize: number;
  eps: number;
  advWeight: number;
  pixelWeight: number;
  featureWeight: number;
  features: "target-embedding";
  seed: number;
}

/** What each preset fills in. */
export const NRP_PRESET_VALUES: Record<NrpPreset, Omit<NrpTrainConfig, "preset" | "eps" | "advWeight" | "pixelWeight" | "featureWeight" | "features" | "seed">> = {
  paper: { arch: "nrp", nf: 64, nb: 23, gc: 32, criticNf: 64, epochs: 10, batchSize: 16, lr: 1e-4, betas: [0.9, 0.99], trainImages: null, sspSteps: 100, sspStepSize: 0.01 },
  cpu: { arch: "nrp", nf: 16, nb: 2, gc: 8, criticNf: 16, epochs: 2, batchSize: 32, lr: 1e-3, betas: [0.9, 0.99], trainImages: 3000, sspSteps: 10, sspStepSize: 0.01 },
};

/** The training config of a section (defaults from its preset), `seed` standing in for a missing seed. */
export function nrpTrainConfig(settings: unknown, seed = 0): NrpTrainConfig {
  const s = NrpSettingsSchema.parse(settings ?? {});
  const p = NRP_PRESET_VALUES[s.preset];
  return {
    preset: s.preset, arch: s.arch ?? p.arch, nf: s.nf ?? p.nf, nb: s.nb ?? p.nb, gc: s.gc ?? p.gc, criticNf: s.criticNf ?? p.criticNf,
    epochs: s.epochs ?? p.epochs, batchSize: s.batchSize ?? p.batchSize, lr: s.lr ?? p.lr, betas: p.betas,
    trainImages: s.trainImages ?? p.trainImages, sspSteps: s.sspSteps ?? p.sspSteps, sspStepSize: s.sspStepSize ?? p.sspStepSize,
    eps: s.eps, advWeight: s.advWeight, pixelWeight: s.pixelWeight, featureWeight: s.featureWeight, features: s.features, seed: s.seed ?? seed,
  };
}
