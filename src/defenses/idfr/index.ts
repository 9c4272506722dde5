export { InputDenoiser, type DenoiserOptions, type DenoiserVariant } from "./denoiser.js";
export { FeatureRestorer, FR_HIDDEN } from "./restorer.js";
export { makePairs, type FrPairing, type Pairs, type PairingInput } from "./pairing.js";
export { PAPER_ID_CONFIG, PAPER_FR_CONFIG, CPU_PRESET, IdConfigSchema, FrConfigSchema, IdfrSettingsSchema, type IdConfig, type FrConfig, type IdfrSettings } from "./config.js";
export { craftTrainingAdversarials, attackImages, AugmentedSet, type AdversarialRecipe } from "./training-data.js";
export { trainDenoiser, type ValidationSet } from "./train-id.js";
export { trainRestorer, embedRows, type EmbeddedSet } from "./train-fr.js";
export { IdfrDefense, saveDefense, loadDefense, readDefenseManifest, trainedOn, DefenseManifestSchema, type DefenseManifest } from "./defense.js";
export { defend, type DefendOptions, type DefendResult } from "./pipeline.js";
