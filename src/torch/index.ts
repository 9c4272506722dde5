/**
 * idfr's tensor engine: libtorch through a thin native addon, with a PyTorch-shaped API.
 * Tensors live in native memory: free them with `tidy`, `dispose()` or `using`.
 */
export { Tensor, Reduction, type Device, type Operand, type ReductionName } from "./tensor.js";
export type { DType, TypedArray } from "./dtype.js";
export * from "./creation.js";
export { Generator } from "./generator.js";
export * as F from "./functional.js";
export * from "./autograd.js";
export { tidy, keep, disposeAll } from "./scope.js";
export * from "./runtime.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * from "./safetensors.js";
export { readPth, readPthTree, PthError, type LoadedPth, type ReadPthOptions } from "./pth.js";
export { readNpy, readNpz, readNumpyTensors, readNumpyTree, NdArray, NpyError } from "./npy.js";
export { readWeightsTree, type WeightsFormat, type WeightsTree } from "./weights-file.js";
export { flatToTensors, type FlatTree } from "./py-tree.js";
export { PickleError, UnsupportedPickleError } from "./pickle.js";
export { ZipError } from "./zip.js";
export { ScriptModule } from "./jit.js";
export { NonFiniteWeightsError } from "./finite.js";
export { opSchema } from "./dispatch.js";
import { native } from "./native.js";

/** Live native tensors (created and not yet freed): one-line leak checks. */
export function memory(): { numTensors: number } {
  return { numTensors: native.liveTensors() };
}
export { toChannelsLast, oneDnnConv2d, relu_ } from "./onednn.js";
