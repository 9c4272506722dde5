/**
 * Every IDFR hyperparameter, declared once as a zod schema with the paper's value as default (§4.1:
 * ID 100 epochs, FR 80 epochs, Adam, lr 0.01) and, where the paper is silent, our documented
 * choice. The TS types, the defaults, the checks, the experiment config's `idfr` section and the
 * flags of `idfr train-id/train-fr/defend` all come from these schemas. `CPU_PRESET` shrinks the
 * work so a defense trains in minutes on a laptop-class CPU.
 */
import { z } from "zod";
import { AttackSettingsSchema } from "../../attacks/options.js";
import { ATTACK_NAMES, PRESET_NAMES } from "../../attacks/presets.js";
import { overridesOf, parseWith, radiusSchema } from "../../core/validate.js";

export const IdConfigSchema = z.strictObject({
  epochs: z.number().int().positive().default(100).describe("ID training epochs (paper: 100)"),
  lr: z.number().positive().default(0.01).describe("ID Adam learning rate (paper: 0.01)"),
  batchSize: z.number().int().positive().default(64).describe("ID batch size"),
  width: z.number().positive().default(1).describe("ID width multiplier (1 = Table 6)"),
  variant: z.enum(["paper", "reference-code"]).default("paper").describe("ID architecture: Table 6, or the authors' code (BN+ReLU last layer, layer-1 skip)"),
  idLoss: z.enum(["ce", "feature-l1", "stability"]).default("ce").describe("ID loss: CE through the frozen target (Eq. 3), L1 between embeddings (the authors' code), or stability: CE against the target's class of the clean image (Salman et al. 2020)"),
  gaussianRounds: z.number().int().nonnegative().default(1).describe("rounds of Gaussian-augmented clean copies per epoch"),
  sigma: z.number().nonnegative().default(0.1).describe("std of the Gaussian augmentation on the [0, 1] scale"),
  attack: z.enum(ATTACK_NAMES).default("bim").describe("attack making the training AEs"),
  trainEps: z.array(radiusSchema()).min(1).default([4 / 255, 8 / 255, 16 / 255]).describe("radii of the training AEs, cycled over the images, e.g. 4/255,8/255,16/255"),
  preset: z.enum(PRESET_NAMES).default("paper").describe("step preset of the training attack"),
  attackOptions: AttackSettingsSchema.default({}).describe("settings of the training attack overriding the preset (steps, stepSize, randomStart, ...)"),
  adversary: z.enum(["static", "adaptive"]).default("static").describe("training AEs: made once on the attack model (the paper), or crafted anew at every step through the current ID and the frozen target with PGD (random start, steps of eps/4)"),
  adaptiveSteps: z.number().int().positive().default(5).describe("PGD steps K of the adaptive adversary"),
  rows: z.enum(["adversarial+gaussian", "gaussian"]).default("adversarial+gaussian").describe("training rows: AEs and Gaussian copies (Algorithm 1), or Gaussian copies only, unclipped (a denoiser for randomized smoothing at sigma)"),
  seed: z.number().int().nonnegative().default(0).describe("seed"),
});
export type IdConfig = z.output<typeof IdConfigSchema>;

export const FrConfigSchema = z.strictObject({
  epochs: z.number().int().positive().default(80).describe("FR training epochs (paper: 80)"),
  lr: z.number().positive().default(0.01).describe("FR Adam learning rate (paper: 0.01)"),
  batchSize: z.number().int().positive().default(128).describe("FR batch size"),
  pairing: z.enum(["paper", "pooled"]).default("paper").describe("Algorithm 2 pairing of X and X̃: the paper's, or pooled per label (the authors' code)"),
  gaussianRounds: z.number().int().nonnegative().default(1).describe("Gaussian-augmented clean copies whose embeddings join the AEs'"),
  sigma: z.number().nonnegative().default(0.1).describe("std of the FR's Gaussian augmentation on the [0, 1] scale"),
  adversary: z.enum(["static", "adaptive"]).default("static").describe("FR training AEs: the ID's (made once), or crafted anew each epoch through the current ID, FR and the frozen target with PGD"),
  adaptiveSteps: z.number().int().positive().default(5).describe("PGD steps K of the adaptive adversary"),
  trainEps: z.array(radiusSchema()).min(1).default([4 / 255, 8 / 255, 16 / 255]).describe("radii of the adaptive adversary's AEs, cycled over the images"),
  seed: z.number().int().nonnegative().default(0).describe("seed"),
});
export type FrConfig = z.output<typeof FrConfigSchema>;

/** Partial overrides as configs and flags give them: every key optional, no defaults filled in. */
export const IdOverridesSchema = overridesOf(IdConfigSchema);
export const FrOverridesSchema = overridesOf(FrConfigSchema);

export const PAPER_ID_CONFIG: IdConfig = IdConfigSchema.parse({});
export const PAPER_FR_CONFIG: FrConfig = FrConfigSchema.parse({});

/** Sizes for a CPU: a half-width U-Net, a few epochs, a lower learning rate that converges in them. */
export const CPU_PRESET: { id: Partial<IdConfig>; fr: Partial<FrConfig> } = {
  id: { epochs: 4, width: 0.5, lr: 0.002, batchSize: 64 },
  fr: { epochs: 15, lr: 0.002 },
};

/** Throws a TypeError naming each bad key ("id.epochs: ...") unless `c` is a valid ID config. */
export function checkIdConfig(c: IdConfig): void {
  parseWith(IdConfigSchema, c, "id");
}

/** Throws a TypeError naming each bad key ("fr.lr: ...") unless `c` is a valid FR config. */
export function checkFrConfig(c: FrConfig): void {
  parseWith(FrConfigSchema, c, "fr");
}

/** The `idfr` section of an experiment config: overrides of the ID and FR configs, and the training images used. */
export const IdfrSettingsSchema = z.strictObject({
  id: IdOverridesSchema.default({}),
  fr: FrOverridesSchema.default({}),
  /** Training images the defense sees (classes balanced); all the experiment's when absent. */
  trainImages: z.number().int().positive().optional(),
});
export type IdfrSettings = z.output<typeof IdfrSettingsSchema>;
