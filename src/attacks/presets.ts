/**
 * The attacks and step presets, each registered once: name, label, norm, which settings it takes
 * and how it is built. CLI choices, config validation, report labels and `idfr list` all read
 * these lists.
 *
 * Presets:
 * - `paper`: what the IDFR paper states (footnote to §4): l_inf, 20 iterations of step 0.03 for
 *   BIM and CW; FGSM one step. PGD takes the same schedule with its random start.
 * - `reference-code`: what the authors' code ran through ART 1.4: BIM 10 steps of 0.01; CW as
 *   ART's CarliniLInfMethod (lr 0.01, 10 iterations), approximated here by CW-l_inf with 10 steps
 *   of 0.01 (ART optimises in tanh space with Adam; the step count and size are what carry over).
 * - `standard`: as the field runs them now: 10 steps of ε/4, random start (BIM has none by
 *   definition).
 * - `standard-20`: the common stronger schedule, 20 steps of ε/4 with a random start.
 * CW-L2, PGD-L2, the APGD family, FAB, Square and AutoAttack have no paper settings: every preset
 * leaves them at their defaults (CW-L2 9x100, PGD-L2 10 steps of 2.5ε/10, APGD 100 iterations,
 * AutoAttack's version "standard"). Explicit options override the preset.
 */
import type { LogitsModel } from "../models/classifier.js";
import { checkChoice, checkNumber, parseWith, unknownName } from "../core/validate.js";
import { APGD, type APGDOptions } from "./apgd.js";
import { APGDTargeted, type APGDTargetedOptions } from "./apgd-targeted.js";
import type { Attack } from "./attack.js";
import { AutoAttack, type AutoAttackOptions } from "./autoattack.js";
import { BIM, type BIMOptions } from "./bim.js";
import { CWL2, type CWL2Options } from "./cw-l2.js";
import { CWLinf, type CWLinfOptions } from "./cw-linf.js";
import { FAB, type FABOptions } from "./fab.js";
import { FGSM, type FGSMOptions } from "./fgsm.js";
import { AttackSettingsSchema, type AttackSettings } from "./options.js";
import { PGD, type PGDOptions } from "./pgd.js";
import { PGDL2, type PGDL2Options } from "./pgd-l2.js";
import { Square, type SquareOptions } from "./square.js";

/** One registered attack. */
export interface AttackEntry {
  name: string;
  /** Column label in reports. */
  label: string;
  norm: "linf" | "l2";
  /** One line for `idfr list`. */
  description: string;
  /** The settings (keys of AttackSettingsSchema) it takes. */
  settings: readonly (keyof AttackSettings)[];
  /** Position among the report's columns (the paper's order: FGSM, CW, BIM, then the rest). */
  column: number;
  /** Whether the preset schedule applies (the paper's l_inf iterative attacks). */
  presetSchedule: boolean;
  /** Whether it takes a targeted goal (`run(x, y, { target })`); FAB and AutoAttack choose their own targets. */
  targeted: boolean;
  create(model: LogitsModel, options: Record<string, unknown>): Attack<object>;
}

const PGD_KEYS = ["steps", "stepSize", "randomStart", "seed"] as const;

/** Every attack, in the order of ATTACK_NAMES. */
export const ATTACKS = [
  { name: "fgsm", label: "FGSM", norm: "linf", description: "fast gradient sign method, one step", settings: [], column: 0, presetSchedule: false, targeted: true,
    create: (m, o) => new FGSM(m, o) },
  { name: "bim", label: "BIM", norm: "linf", description: "basic iterative method (iterated FGSM, no random start)", settings: ["steps", "stepSize"], column: 2, presetSchedule: true, targeted: true,
    create: (m, o) => new BIM(m, o) },
  { name: "pgd", label: "PGD", norm: "linf", description: "projected gradient descent on CE, random start", settings: PGD_KEYS, column: 3, presetSchedule: true, targeted: true,
    create: (m, o) => new PGD(m, o) },
  { name: "cw", label: "CW", norm: "linf", description: "Carlini-Wagner margin loss by projected l_inf steps", settings: [...PGD_KEYS, "kappa"], column: 1, presetSchedule: true, targeted: true,
    create: (m, o) => new CWLinf(m, o) },
  { name: "cw-l2", label: "CW-L2", norm: "l2", description: "Carlini-Wagner L2 (Adam, binary search on c; no budget)", settings: ["steps", "binarySteps", "lr", "initialConst", "kappa"], column: 11, presetSchedule: false, targeted: true,
    create: (m, { eps: _eps, ...o }) => new CWL2(m, o) },
  { name: "pgd-l2", label: "PGD-L2", norm: "l2", description: "projected gradient descent in an L2 ball", settings: PGD_KEYS, column: 12, presetSchedule: false, targeted: true,
    create: (m, o) => new PGDL2(m, o) },
  { name: "apgd-ce", label: "APGD-CE", norm: "linf", description: "auto-PGD on cross-entropy (AutoAttack)", settings: ["steps", "restarts", "seed", "rho"], column: 4, presetSchedule: false, targeted: true,
    create: (m, o) => new APGD(m, { ...o, loss: "ce" }) },
  { name: "apgd-dlr", label: "APGD-DLR", norm: "linf", description: "auto-PGD on the DLR loss (AutoAttack)", settings: ["steps", "restarts", "seed", "rho"], column: 5, presetSchedule: false, targeted: true,
    create: (m, o) => new APGD(m, { ...o, loss: "dlr" }) },
  { name: "apgd-t", label: "APGD-T", norm: "linf", description: "auto-PGD on the targeted DLR loss, most likely other classes in turn (AutoAttack)", settings: ["steps", "restarts", "seed", "rho", "targetClasses"], column: 6, presetSchedule: false, targeted: true,
    create: (m, o) => new APGDTargeted(m, o) },
  { name: "fab", label: "FAB", norm: "linf", description: "fast adaptive boundary attack, minimal l_inf distortion (AutoAttack)", settings: ["steps", "restarts", "seed"], column: 7, presetSchedule: false, targeted: false,
    create: (m, o) => new FAB(m, o) },
  { name: "fab-t", label: "FAB-T", norm: "linf", description: "FAB steered at the most likely other classes in turn (AutoAttack)", settings: ["steps", "restarts", "seed", "targetClasses"], column: 8, presetSchedule: false, targeted: false,
    create: (m, o) => new FAB(m, { ...o, targeted: true }) },
  { name: "square", label: "Square", norm: "linf", description: "score-based random search with squares, no gradients (AutoAttack)", settings: ["queries", "pInit", "restarts", "seed"], column: 9, presetSchedule: false, targeted: true,
    create: (m, o) => new Square(m, o) },
  { name: "autoattack", label: "AutoAttack", norm: "linf", description: "APGD-CE, APGD-T, FAB-T, Square on what each left robust (version standard; rand: EOT)", settings: ["version", "attacks", "seed", "steps", "restarts", "targetClasses", "queries", "pInit", "rho", "eotIter"], column: 10, presetSchedule: false, targeted: false,
    create: (m, o) => new AutoAttack(m, o) },
] as const satisfies readonly AttackEntry[];

export type AttackName = (typeof ATTACKS)[number]["name"];
export const ATTACK_NAMES = ATTACKS.map((a) => a.name) as unknown as readonly [AttackName, ...AttackName[]];

/** The registered attack called `name`; the error lists the known ones. */
export function attackEntry(name: string): AttackEntry {
  const entry = (ATTACKS as readonly AttackEntry[]).find((a) => a.name === name);
  if (!entry) throw unknownName("attacks", name, ATTACK_NAMES);
  return entry;
}

/** One registered step preset. */
export interface PresetEntry {
  name: string;
  description: string;
  /** Settings of an attack with a preset schedule at budget eps. */
  schedule(name: AttackName, eps: number): AttackSettings;
}

const quarter = (eps: number) => (eps > 0 ? eps / 4 : 1 / 255);

export const ATTACK_PRESETS = [
  { name: "paper", description: "the paper's footnote: BIM and CW 20 steps of 0.03 (PGD adds its random start)",
    schedule: (name) => (name === "pgd" ? { steps: 20, stepSize: 0.03, randomStart: true } : { steps: 20, stepSize: 0.03 }) },
  { name: "reference-code", description: "the authors' code (ART 1.4): 10 steps of 0.01",
    schedule: (name) => (name === "pgd" ? { steps: 10, stepSize: 0.01, randomStart: true } : { steps: 10, stepSize: 0.01 }) },
  { name: "standard", description: "as the field runs them: 10 steps of eps/4, random start (BIM has none)",
    schedule: (name, eps) => (name === "bim" ? { steps: 10, stepSize: quarter(eps) } : { steps: 10, stepSize: quarter(eps), randomStart: true }) },
  { name: "standard-20", description: "the common stronger schedule: 20 steps of eps/4, random start (BIM has none)",
    schedule: (name, eps) => (name === "bim" ? { steps: 20, stepSize: quarter(eps) } : { steps: 20, stepSize: quarter(eps), randomStart: true }) },
] as const satisfies readonly PresetEntry[];

export type PresetName = (typeof ATTACK_PRESETS)[number]["name"];
export const PRESET_NAMES = ATTACK_PRESETS.map((p) => p.name) as unknown as readonly [PresetName, ...PresetName[]];

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
  "apgd-t": APGDTargetedOptions;
  fab: Omit<FABOptions, "targeted">;
  "fab-t": Omit<FABOptions, "targeted">;
  square: SquareOptions;
  autoattack: AutoAttackOptions;
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
  if (!attackEntry(name).presetSchedule) return {};
  const entry = ATTACK_PRESETS.find((p) => p.name === preset);
  if (!entry) throw unknownName("presets", preset, PRESET_NAMES);
  return entry.schedule(name, eps) as Record<string, number | boolean>;
}

/**
 * Checks settings (from a config or the CLI) against what attack `name` takes: each value by the
 * schema, each key by the registry ("bim: does not take randomStart (it takes steps, stepSize)").
 */
export function attackSettingsFor(name: AttackName, settings: AttackSettings, what = "attackOptions"): AttackSettings {
  const parsed = parseWith(AttackSettingsSchema, settings, what);
  const entry = attackEntry(name);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (value === undefined) continue;
    if (!(entry.settings as readonly string[]).includes(key)) {
      throw new TypeError(`${what}: ${name} does not take ${key} (it takes ${entry.settings.length ? entry.settings.join(", ") : "no settings"})`);
    }
    out[key] = value;
  }
  return out as AttackSettings;
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
  return attackEntry(name).create(model, { eps, ...settings });
}
