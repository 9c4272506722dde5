/** idfr: the public API. */
export * from "./torch/index.js";
export { InputDenoiser, type DenoiserOptions } from "./defenses/idfr/denoiser.js";
