/**
 * The `adp` section of an experiment config: ADP (Yoon, Hwang & Lee, ICML 2021), a score network
 * trained by denoising score matching and an adaptive-step purification from Gaussian-noised inputs.
 *
 * Two presets fill every value not given:
 * - "paper": the authors' CIFAR-10 sizes: NCSNv2 at ngf 128 (29,694,083 parameters), σ from 50 down
 *   to 0.01 in 232 geometric steps, Adam lr 1e-4, batch 128, 300,000 iterations (~768 epochs of
 *   50,000 images).
 * - "cpu": the same architecture at ngf 16 (466k parameters at one channel), σ from 1 down to 0.01
 *   in 10 steps, Adam lr 1e-3, batch 64, 3 epochs of 5,000 images: trains on Fashion-MNIST in
 *   minutes on two cores. Width, ladder, learning rate and length deviate from the authors'.
 * Purification is the authors' in both (their CIFAR-10 config `cifar10_bpda_eot_sigma025_eot15.yml`):
 * noise 0.25, at most 10 steps, λ = 0.05, probe 1e-3, α in [1e-5, 0.1], stop at α <= 1e-3, an
 * ensemble of 10 draws aggregated by softmax.
 */
import { z } from "zod";

export const ADP_PRESETS = ["cpu", "paper"] as const;
export type AdpPreset = (typeof ADP_PRESETS)[number];
export const ADP_AGGREGATES = ["softmax", "logits", "vote"] as const;
export type AdpAggregate = (typeof ADP_AGGREGATES)[number];

/** The score network and its training. */
export interface AdpTrainSettings {
  ngf: number;
  sigmaBegin: number;
  sigmaEnd: number;
  numSigmas: number;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Training images drawn from the experiment's training set (0: all). */
  trainImages: number;
}

/** The purification (defaults: the authors' CIFAR-10 configuration). */
export interface AdpPurifySettings {
  /** Standard deviation of the Gaussian noise added before purifying (rand_smoothing_level). */
  noiseStd: number;
  /** At most this many steps (max_iter). */
  maxSteps: number;
  /** λ of the adaptive step α = λ·probe / (1 - z) (purification_lambda). */
  lambda: number;
  /** Probe length ε of z = <s(x), s(x + ε s(x))> / <s(x), s(x)> (lr_min). */
  probe: number;
  /** Lower clamp of α (min_step_lr). */
  minStep: number;
  /** Upper clamp of α (min_step_lr · 10,000). */
  maxStep: number;
  /** A sample stops for good at the first step whose α is at most this (stopping_alpha). */
  stopBelow: number;
  /** Noise draws purified and classified per input (rand_smoothing_ensemble). */
  ensemble: number;
  /** How the draws' outputs are combined: summed softmax (the paper's), summed logits, or votes. */
  aggregate: AdpAggregate;
  /**
   * Reproduce the authors' code's dequantisation grid bookkeeping: x ↦ x·255/256 + 1/512 once before
   * the first step and its inverse x ↦ x·256/255 - 1/510 after every step (stopped samples too), a
   * contrast stretch about 0.5 of (256/255)^steps. Off by default (the paper's algorithm).
   */
  authorsGrid: boolean;
}

export type AdpResolvedSettings = AdpTrainSettings & AdpPurifySettings & { preset: AdpPreset; seed?: number };

export const ADP_PRESET_VALUES: Record<AdpPreset, AdpTrainSettings> = {
  paper: { ngf: 128, sigmaBegin: 50, sigmaEnd: 0.01, numSigmas: 232, epochs: 768, batchSize: 128, lr: 1e-4, trainImages: 0 },
  cpu: { ngf: 16, sigmaBegin: 1, sigmaEnd: 0.01, numSigmas: 10, epochs: 3, batchSize: 64, lr: 1e-3, trainImages: 5000 },
};

export const ADP_PURIFY_DEFAULTS: AdpPurifySettings = {
  noiseStd: 0.25, maxSteps: 10, lambda: 0.05, probe: 1e-3, minStep: 1e-5, maxStep: 0.1, stopBelow: 1e-3, ensemble: 10, aggregate: "softmax", authorsGrid: false,
};

const pos = () => z.number().positive();

/** The section as configs write it; {@link adpSettings} fills in the preset's and the authors' values. */
export const AdpSettingsSchema = z.strictObject({
  preset: z.enum(ADP_PRESETS).default("cpu").describe("sizes: \"cpu\" (ngf 16, σ 1..0.01 x10, 3 epochs of 5,000 images) or \"paper\" (the authors' NCSNv2 at ngf 128, σ 50..0.01 x232, 300k iterations)"),
  ngf: z.number().int().min(2).optional().describe("base width of the NCSNv2 score network (paper 128)"),
  sigmaBegin: pos().optional().describe("largest σ of the geometric training ladder (paper 50)"),
  sigmaEnd: pos().optional().describe("smallest σ of the ladder (paper 0.01)"),
  numSigmas: z.number().int().positive().optional().describe("σ values in the ladder (paper 232)"),
  epochs: z.number().int().positive().optional().describe("training epochs of denoising score matching"),
  batchSize: z.number().int().positive().optional().describe("training batch size (paper 128)"),
  lr: pos().optional().describe("Adam learning rate (paper 1e-4)"),
  trainImages: z.number().int().nonnegative().optional().describe("training images used (0: all)"),
  noiseStd: z.number().nonnegative().default(ADP_PURIFY_DEFAULTS.noiseStd).describe("std of the Gaussian noise added before purification (authors: 0.25)"),
  maxSteps: z.number().int().nonnegative().default(ADP_PURIFY_DEFAULTS.maxSteps).describe("most purification steps (authors: 10)"),
  lambda: pos().default(ADP_PURIFY_DEFAULTS.lambda).describe("λ of the adaptive step α = λ·probe/(1 - z) (authors: 0.05)"),
  probe: pos().default(ADP_PURIFY_DEFAULTS.probe).describe("probe length ε in z = <s(x), s(x + ε s(x))>/|s(x)|² (authors: 1e-3)"),
  minStep: pos().default(ADP_PURIFY_DEFAULTS.minStep).describe("lower clamp of α (authors: 1e-5)"),
  maxStep: pos().default(ADP_PURIFY_DEFAULTS.maxStep).describe("upper clamp of α (authors: 0.1)"),
  stopBelow: z.number().nonnegative().default(ADP_PURIFY_DEFAULTS.stopBelow).describe("a sample stops at the first α at most this (authors: 1e-3)"),
  ensemble: z.number().int().positive().default(ADP_PURIFY_DEFAULTS.ensemble).describe("noise draws per input (authors: 10)"),
  aggregate: z.enum(ADP_AGGREGATES).default(ADP_PURIFY_DEFAULTS.aggregate).describe("combining the draws: softmax sum (paper), logits sum or majority vote"),
  authorsGrid: z.boolean().default(false).describe("reproduce the authors' code's x·255/256 + 1/512 grid map and its per-step inverse"),
  seed: z.number().int().nonnegative().optional().describe("seed of the score network's training (default: the experiment's)"),
});
export type AdpSettings = z.output<typeof AdpSettingsSchema>;

/** Every value filled in: the preset's sizes under any given overrides. */
export function adpSettings(settings: unknown = {}): AdpResolvedSettings {
  const s = AdpSettingsSchema.parse(settings ?? {});
  const p = ADP_PRESET_VALUES[s.preset];
  if ((s.minStep ?? 0) > s.maxStep) throw new RangeError(`adp: expected minStep (${s.minStep}) at most maxStep (${s.maxStep})`);
  return {
    preset: s.preset, seed: s.seed,
    ngf: s.ngf ?? p.ngf, sigmaBegin: s.sigmaBegin ?? p.sigmaBegin, sigmaEnd: s.sigmaEnd ?? p.sigmaEnd, numSigmas: s.numSigmas ?? p.numSigmas,
    epochs: s.epochs ?? p.epochs, batchSize: s.batchSize ?? p.batchSize, lr: s.lr ?? p.lr, trainImages: s.trainImages ?? p.trainImages,
    noiseStd: s.noiseStd, maxSteps: s.maxSteps, lambda: s.lambda, probe: s.probe, minStep: s.minStep, maxStep: s.maxStep,
    stopBelow: s.stopBelow, ensemble: s.ensemble, aggregate: s.aggregate, authorsGrid: s.authorsGrid,
  };
}

/** The purification part of resolved settings. */
export function purifySettingsOf(s: AdpPurifySettings): AdpPurifySettings {
  return {
    noiseStd: s.noiseStd, maxSteps: s.maxSteps, lambda: s.lambda, probe: s.probe, minStep: s.minStep, maxStep: s.maxStep,
    stopBelow: s.stopBelow, ensemble: s.ensemble, aggregate: s.aggregate, authorsGrid: s.authorsGrid,
  };
}
