/**
 * The `comdefend` section of an experiment config: how ComDefend is trained and run. Defaults are
 * the authors' TensorFlow recipe (Train_comdefend_TF.py: Adam at TensorFlow's default 1e-3, batch
 * 20, one epoch, code noise N(0, 20²) while training, code penalty 1e-4; N(0, 1) and threshold 0.5
 * at inference). Two presets decide how many training images are used:
 * - "paper": all the experiment's training images (the authors trained on all 50,000 CIFAR-10
 *   images);
 * - "cpu": {@link CPU_TRAIN_IMAGES} of them (classes balanced), 500 steps, so that the one epoch
 *   takes minutes on two CPU cores. Fewer steps are not enough: with the code noise at 20 the
 *   reconstruction stays flat until the code has grown far beyond the noise (on Fashion-MNIST that
 *   took 100-125 steps of the recipe; the binarised reconstruction of test images then reached
 *   14.2 dB PSNR at step 125, 16.3 dB at 200 and 18.5 dB at 350). Everything else (widths, noise,
 *   optimiser) is the authors'.
 * `trainImages` overrides the preset's count.
 */
import { z } from "zod";
import { parseWith } from "../../core/validate.js";

/** Training images of the "cpu" preset (500 steps of 20). */
export const CPU_TRAIN_IMAGES = 10000;

export const COMDEFEND_PRESETS = ["cpu", "paper"] as const;
export type ComDefendPreset = (typeof COMDEFEND_PRESETS)[number];

export const ComDefendSettingsSchema = z.strictObject({
  preset: z.enum(COMDEFEND_PRESETS).default("cpu").describe(`"paper": train on every training image, as the authors; "cpu": on ${CPU_TRAIN_IMAGES} of them (minutes on 2 cores)`),
  trainImages: z.number().int().positive().optional().describe("training images (classes balanced); overrides the preset's count"),
  epochs: z.number().int().positive().default(1).describe("training epochs (authors: 1)"),
  batchSize: z.number().int().positive().default(20).describe("training batch size (authors: 20)"),
  lr: z.number().positive().default(1e-3).describe("Adam learning rate (authors: TensorFlow's default 1e-3)"),
  trainNoise: z.number().nonnegative().default(20).describe("std of the Gaussian noise subtracted from the code before the sigmoid while training (authors: 20)"),
  codePenalty: z.number().nonnegative().default(1e-4).describe("weight of mean(sigmoid(noisy code)²) in the training loss (authors: 1e-4)"),
  noise: z.number().positive().default(1).describe("std of the Gaussian noise subtracted from the code at inference (authors: 1); it makes the defense random, so adaptive attacks use EOT"),
  threshold: z.number().gt(0).lt(1).default(0.5).describe("a code bit is 1 where sigmoid(noisy code) exceeds this (authors: 0.5)"),
  patch: z.number().int().nonnegative().default(0).describe("cut images larger than this into patch x patch tiles purified one by one (the authors' ImageNet path: 32); 0 purifies whole images"),
  bpda: z.enum(["identity", "sigmoid"]).default("identity").describe("gradient of the threshold in adaptive attacks: straight-through as the identity on the noisy code, or as the sigmoid's derivative"),
  seed: z.number().int().nonnegative().optional().describe("seed of the initial weights, the data order and the training noise (default: the experiment's)"),
});
export type ComDefendSettings = z.output<typeof ComDefendSettingsSchema>;

/** Parses a section (every key may be left out), naming the bad key in the error. */
export function comdefendSettings(input: unknown = {}): ComDefendSettings {
  return parseWith(ComDefendSettingsSchema, input ?? {}, "comdefend");
}

/** Training images the settings ask for: `trainImages`, else the preset's (undefined = all). */
export function trainImagesOf(settings: Pick<ComDefendSettings, "preset" | "trainImages">): number | undefined {
  return settings.trainImages ?? (settings.preset === "cpu" ? CPU_TRAIN_IMAGES : undefined);
}
