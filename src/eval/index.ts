export * from "./results.js";
export { parseExperiment, readExperiment, ConfigError, ExperimentSchema, type ExperimentConfig, type ExperimentInput, type ModelSpec } from "./config.js";
export { runExperiment, KNOWN_DEFENSES, type RunOptions as ExperimentRunOptions, type RunStats } from "./runner.js";
export { presetConfigs, PRESETS, type PresetId, type PresetOptions } from "./presets.js";
export * from "./report/index.js";
export { attackedModel, buildAttack, craftAdversarial, evaluateThreat, DEFAULT_EOT_SAMPLES, type AttackSpec, type ThreatEvaluation, type ThreatModel } from "./threat.js";
export * from "./measure.js";
export { threatCandidate, worstCase, type Candidate, type WorstCaseResult } from "./worst-case.js";
