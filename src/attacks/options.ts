/**
 * The attacks' tunable options, declared once as a zod schema: their TS type, validation, config
 * keys (`attackOptions` in experiment configs) and CLI flags (`--steps`, `--step-size`, ...) all
 * come from {@link AttackSettingsSchema}. The option checks themselves live in core/validate.ts and
 * are re-exported here for the attack classes.
 */
import { z } from "zod";
import { parseRadius } from "../core/validate.js";

/** AutoAttack's versions (see autoattack.ts). */
export const AUTOATTACK_VERSIONS = ["standard", "plus", "rand", "custom"] as const;
export type AutoAttackVersion = (typeof AUTOATTACK_VERSIONS)[number];
/** The sub-attacks AutoAttack can run (its version "custom" lists some of them). */
export const AUTOATTACK_ATTACKS = ["apgd-ce", "apgd-dlr", "apgd-t", "fab", "fab-t", "square"] as const;
export type AutoAttackPart = (typeof AUTOATTACK_ATTACKS)[number];

export { checkBoolean, checkChoice, checkInteger, checkKnownKeys, checkNumber, checkPositive, invalidParam as invalidOption } from "../core/validate.js";

/**
 * Step settings an attack may take, each optional: what is given overrides the preset. Which
 * attack takes which key is in the attack registry (presets.ts); a key an attack does not take is
 * an error naming both.
 */
export const AttackSettingsSchema = z.strictObject({
  steps: z.number().int().positive().optional().describe("iterations (per binary-search step for cw-l2)"),
  stepSize: z.number().positive().max(1).optional().describe("step size on the [0, 1] scale (l_inf) or in L2 units (pgd-l2)"),
  randomStart: z.boolean().optional().describe("start from a uniform random point of the ball"),
  restarts: z.number().int().positive().optional().describe("random restarts (apgd; per target for apgd-t and fab-t; fab, square; autoattack: of apgd-ce, apgd-dlr and fab)"),
  seed: z.number().int().nonnegative().max(4294967295).optional().describe("seed of random starts"),
  kappa: z.number().nonnegative().optional().describe("confidence margin (cw, cw-l2)"),
  binarySteps: z.number().int().positive().optional().describe("binary-search steps on c (cw-l2)"),
  lr: z.number().positive().optional().describe("Adam learning rate (cw-l2)"),
  initialConst: z.number().positive().optional().describe("initial c (cw-l2)"),
  rho: z.number().min(0).max(1).optional().describe("step-size halving threshold (apgd)"),
  targetClasses: z.number().int().positive().optional().describe("target classes tried in turn, most likely first (apgd-t, fab-t, autoattack; default 9)"),
  queries: z.number().int().positive().optional().describe("queries per restart (square, autoattack; default 5000)"),
  pInit: z.number().positive().max(1).optional().describe("initial fraction of pixels a square covers (square, autoattack; default 0.8)"),
  version: z.enum(AUTOATTACK_VERSIONS).optional().describe("autoattack version: standard, plus, rand (EOT, for random defenses) or custom (default standard)"),
  attacks: z.array(z.enum(AUTOATTACK_ATTACKS)).min(1).optional().describe("sub-attacks of autoattack's version custom, in order"),
  eotIter: z.number().int().positive().optional().describe("draws each gradient averages over (autoattack; default 20 in version rand, else 1)"),
});
export type AttackSettings = z.output<typeof AttackSettingsSchema>;
export const ATTACK_SETTING_KEYS = Object.keys(AttackSettingsSchema.shape) as (keyof AttackSettings)[];

/**
 * Parses a perturbation budget written as a fraction (`8/255`) or a decimal (`0.031`), as the
 * command line and config files accept it. The result must lie in [0, max] (default [0, 1], the
 * l_inf range; pass Infinity for L2 budgets).
 */
export function parseEps(text: string, name = "eps", max = 1): number {
  return parseRadius(text, name, max);
}
