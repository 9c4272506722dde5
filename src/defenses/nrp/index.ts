/** NRP (Naseer et al., CVPR 2020): purifiers, SSP, training, the defense, its files and registry entries. */
export * from "./networks.js";
export * from "./config.js";
export * from "./ssp.js";
export * from "./train.js";
export * from "./defense.js";
export * from "./io.js";
export { nrpSizesFromShapes } from "./official.js";
export { nrpEntry, nrpDynamicEntry } from "./entry.js";
