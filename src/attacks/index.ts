/**
 * Adversarial attacks in [0, 1] pixel space (FGSM, BIM, PGD, CW-l_inf, CW-L2, PGD-L2, APGD-CE/DLR,
 * APGD-T, FAB, FAB-T, Square, AutoAttack), presets, EOT, sanity checks and robust accuracy. Threat
 * models and the worst case over attacks live in eval/, which knows defenses.
 */
export { Attack, type AttackReport, type AttackResult, type BatchContext, type CommonOptions, type Goal, type LossGrad, type RunOptions } from "./attack.js";
export { FGSM, type FGSMOptions, type ResolvedFGSMOptions } from "./fgsm.js";
export { BIM, type BIMOptions, type ResolvedBIMOptions } from "./bim.js";
export { PGD, type PGDOptions, type ResolvedPGDOptions } from "./pgd.js";
export { CWLinf, type CWLinfOptions, type ResolvedCWLinfOptions } from "./cw-linf.js";
export { CWL2, type CWL2Options, type ResolvedCWL2Options } from "./cw-l2.js";
export { PGDL2, type PGDL2Options, type ResolvedPGDL2Options } from "./pgd-l2.js";
export { APGD, apgdCheckpoints, type APGDLoss, type APGDOptions, type ResolvedAPGDOptions } from "./apgd.js";
export { APGDTargeted, type APGDTargetedOptions, type ResolvedAPGDTargetedOptions } from "./apgd-targeted.js";
export { FAB, projectLinfHyperplane, type FABOptions, type ResolvedFABOptions } from "./fab.js";
export { Square, type ResolvedSquareOptions, type SquareLoss, type SquareOptions, type SquareResult } from "./square.js";
export { AutoAttack, AUTOATTACK_ATTACKS, AUTOATTACK_VERSIONS, type AutoAttackOptions, type AutoAttackPart, type AutoAttackVersion, type ResolvedAutoAttackOptions } from "./autoattack.js";
export { checkClasses, checkOutputRange, checkRandomized, checkSquare, defaultWarningLog, type WarningLog } from "./sanity-checks.js";
export * as losses from "./losses.js";
export { EotModel, withEot } from "./eot.js";
export { ATTACKS, ATTACK_NAMES, ATTACK_PRESETS, PRESET_NAMES, attackEntry, attackSettingsFor, makeAttack, presetOptions, type AttackEntry, type PresetEntry, type AttackName, type AttackOptionsByName, type MakeAttackOptions, type PresetName } from "./presets.js";
export { randomTargets, nextClassTargets } from "./targets.js";
export { parseEps, AttackSettingsSchema, ATTACK_SETTING_KEYS, type AttackSettings } from "./options.js";
export { accuracyOf, predictClasses, robustAccuracy, wilsonInterval, type Predictor, type RobustAccuracy } from "../models/evaluate.js";
