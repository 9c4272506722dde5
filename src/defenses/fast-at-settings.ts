/**
 * The `fastAt` section of an experiment config: how the Fast AT row's robust model is trained, with
 * Wong, Rice & Kolter's (ICLR 2020) CIFAR-10 settings as defaults: 15 epochs, a cyclic learning
 * rate, FGSM from a random start with α = 1.25ε, and early stopping on a PGD check after each epoch.
 */
import { z } from "zod";
import { radiusSchema } from "../core/validate.js";

/** The catastrophic-overfitting check run after each Fast AT epoch (their `--early-stop`). */
export const FastAtEarlyStopSchema = z.strictObject({
  enabled: z.boolean().default(true).describe("stop Fast AT when PGD accuracy collapses after an epoch (catastrophic overfitting) and keep the best epoch"),
  images: z.number().int().positive().default(128).describe("images in the fixed PGD check batch (validation images when the data has them, else training images)"),
  steps: z.number().int().positive().default(5).describe("PGD steps of the check (Wong et al.'s code: 5)"),
  restarts: z.number().int().positive().default(1).describe("PGD random restarts of the check; an image counts as robust only if it survives every restart"),
  stepSize: radiusSchema().default(2 / 255).describe("PGD step size of the check, at the training radius (Wong et al.: 2/255)"),
  maxDrop: z.number().min(0).max(1).default(0.2).describe("stop once PGD accuracy falls more than this below the best epoch's (Wong et al.: 0.2)"),
  seed: z.number().int().nonnegative().default(0).describe("seed of the check's PGD random starts"),
});
export type FastAtEarlyStop = z.output<typeof FastAtEarlyStopSchema>;

/** Wong et al.'s CIFAR-10 epoch count, the default of `epochs`. */
export const FAST_AT_EPOCHS = 15;

/**
 * The section as configs write it: every key may be left out (an experiment config's default
 * section is just `{ eps: 8/255 }`); {@link fastAtSettings} fills in the defaults.
 */
export const FastAtSettingsSchema = z.strictObject({
  epochs: z.number().int().positive().optional().describe(`Fast AT training epochs (default ${FAST_AT_EPOCHS}, Wong et al.'s CIFAR-10 setting)`),
  eps: radiusSchema().default(8 / 255).describe("Fast AT training radius"),
  earlyStop: FastAtEarlyStopSchema.optional().describe("the PGD check after each epoch that stops Fast AT on catastrophic overfitting (default: on, Wong et al.'s settings)"),
});
export type FastAtSettings = z.output<typeof FastAtSettingsSchema>;
/** The settings with every default filled in. */
export type ResolvedFastAtSettings = Required<FastAtSettings>;

/** The settings with every default filled in (the experiment config may hold only some of them). */
export function fastAtSettings(settings: unknown = {}): ResolvedFastAtSettings {
  const parsed = FastAtSettingsSchema.parse(settings ?? {});
  return { epochs: parsed.epochs ?? FAST_AT_EPOCHS, eps: parsed.eps, earlyStop: parsed.earlyStop ?? FastAtEarlyStopSchema.parse({}) };
}
