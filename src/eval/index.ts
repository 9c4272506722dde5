export * from "./results.js";
export { parseExperiment, readExperiment, ConfigError, ExperimentSchema, type ExperimentConfig, type ExperimentInput, type ModelSpec } from "./config.js";
export { runExperiment, KNOWN_DEFENSES, type RunOptions as ExperimentRunOptions, type RunStats } from "./runner.js";
export { presetConfigs, PRESETS, type PresetId, type PresetOptions } from "./presets.js";
export * from "./report/index.js";
