/** idfr: the public API. */
export * from "./torch/index.js";
export * from "./models/index.js";
export * from "./train/index.js";
export * from "./defenses/idfr/index.js";
export { whiteboxModelOf, type Defense } from "./defenses/defense.js";
export { NoDefense } from "./defenses/none.js";
export { FastAtDefense, fastAtInputs, pgdCheck, trainModel } from "./defenses/fast-at.js";
export { fastAtSettings, FastAtSettingsSchema, type FastAtSettings } from "./defenses/fast-at-settings.js";
export * from "./defenses/baselines/index.js";
export { NrpDefense, loadNrpDefense, loadNrpPurifier, saveNrpPurifier, trainNrp, makePurifier as makeNrpPurifier, NrpNet, NrpResG, NrpSettingsSchema, nrpTrainConfig, selfSupervisedPerturbation, type NrpDefenseOptions, type NrpSettings, type NrpTrainConfig } from "./defenses/nrp/index.js";
export * from "./attacks/index.js";
export * from "./eval/index.js";
export * as data from "./data/index.js";
export { createServer, type Server, type ServeOptions } from "./serve/server.js";
export type { ModelSpec, ServedModelInfo } from "./serve/protocol.js";
export * as distributed from "./distributed/index.js";
export * from "./certify/index.js";
export { PgdAtDefense, pgdAtInputs, PgdAtSettingsSchema, type PgdAtSettings } from "./defenses/pgd-at.js";
