/**
 * Attacks by name, with the step settings of three presets:
 * - `paper`: what the IDFR paper states (footnote to §4): l_inf, 20 iterations of step 0.03 for
 *   BIM and CW; FGSM one step. PGD takes the same schedule with its random start.
 * - `reference-code`: what the authors' code ran through ART 1.4: BIM 10 steps of 0.01; CW as
 *   ART's CarliniLInfMethod (lr 0.01, 10 iterations), approximated here by CW-l_inf with 10 steps
 *   of 0.01 (ART optimises in tanh space with Adam; the step count and size are what carry over).
 * - `standard`: as the field runs them now: 10 steps of ε/4, random start (BIM has none by
 *   definition).
 * CW-L2, PGD-L2 and APGD have no paper settings: every preset leaves them at their defaults
 * (CW-L2 9x100, PGD-L2 10 steps of 2.5ε/10, APGD 100 iterations). Explicit options override the
 * preset.
 */
import type { LogitsModel } from "../models/classifier.js";
import { APGD, type APGDOptions } from "./apgd.js";
import type { Attack } from "./attack.js";
import { BIM, type BIMOptions } from "./bim.js";
import { CWL2, type CWL2Options } from "./cw-l2.js";
import { CWLinf, type CWLinfOptions } from "./cw-linf.js";
import { FGSM, type FGSMOptions } from "./fgsm.js";
import { checkChoice, checkNumber } from "./options.js";
import { PGD, type PGDOptions } from "./pgd.js";
import { PGDL2, type PGDL2Options } from "./pgd-l2.js";

export const ATTACK_NAMES = ["fgsm", "bim", "pgd", "cw", "cw-l2", "pgd-l2", "apgd-ce", "apgd-dlr"] as const;
export type AttackName = (typeof ATTACK_NAMES)[number];

export const PRESET_NAMES = ["paper", "reference-code", "standard"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** The options each attack name takes (ε and the preset are given separately to {@link makeAttack}). */
export interface AttackOptionsByName {
  fgsm: FGSMOptions;
  bim: BIMOptions;
  pgd: PGDOptions;
  cw: CWLinfOptions;
  "cw-l2": CWL2Options;
  "pgd-l2": PGDL2Options;
  "apgd-ce": Omit<APGDOptions, "loss">;
  "apgd-dlr": Omit<APGDOptions, "loss">;
}

/** Options of {@link makeAttack}: the budget (ignored by CW-L2, which has none), a preset and overrides. */
export type MakeAttackOptions<N extends AttackName> = Omit<AttackOptionsByName[N], "eps"> & {
  /** l_inf budget in [0, 1] (L2 budget for "pgd-l2"). Not used by "cw-l2". */
  eps: number;
  /** Step settings (default "paper"). */
  preset?: PresetName;
};

/** The step settings a preset gives an attack at budget eps. */
export function presetOptions(name: AttackName, preset: PresetName, eps: number): Record<string, number | boolean> {
  const linf = name === "bim" || name === "pgd" || name === "cw";
  if (!linf) return {};
  switch (preset) {
    case "paper":
      return name === "pgd" ? { steps: 20, stepSize: 0.03, randomStart: true } : { steps: 20, stepSize: 0.03 };
    case "reference-code":
      return name === "pgd" ? { steps: 10, stepSize: 0.01, randomStart: true } : { steps: 10, stepSize: 0.01 };
    case "standard": {
      const stepSize = eps > 0 ? eps / 4 : 1 / 255;
      return name === "bim" ? { steps: 10, stepSize } : { steps: 10, stepSize, randomStart: true };
    }
  }
}

/**
 * Builds an attack by name: `makeAttack("bim", model, { eps: 8 / 255, preset: "paper" })`. Options
 * other than eps and preset override the preset's.
 */
export function makeAttack<N extends AttackName>(name: N, model: LogitsModel, options: MakeAttackOptions<N>): Attack<object> {
  checkChoice("attack", name, ATTACK_NAMES);
  const { preset: presetName, eps, ...overrides } = options as MakeAttackOptions<AttackName> & Record<string, unknown>;
  const preset = checkChoice("preset", presetName ?? "paper", PRESET_NAMES);
  checkNumber("eps", eps, 0, name === "pgd-l2" ? Infinity : 1);
  const settings = { ...presetOptions(name, preset, eps), ...overrides };
  switch (name) {
    case "fgsm": return new FGSM(model, { eps, ...settings });
    case "bim": return new BIM(model, { eps, ...settings });
    case "pgd": return new PGD(model, { eps, ...settings });
    case "cw": return new CWLinf(model, { eps, ...settings });
    case "cw-l2": return new CWL2(model, settings);
    case "pgd-l2": return new PGDL2(model, { eps, ...settings });
    case "apgd-ce": return new APGD(model, { eps, ...settings, loss: "ce" });
    case "apgd-dlr": return new APGD(model, { eps, ...settings, loss: "dlr" });
  }
  throw new Error("unreachable");
}
